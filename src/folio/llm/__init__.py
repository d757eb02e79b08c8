"""Language models behind one interface: an OpenAI-compatible client and the offline extractive engine."""
