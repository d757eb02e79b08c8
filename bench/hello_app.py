"""The baseline: a bare FastAPI hello-world, served the same way as Folio."""

from fastapi import FastAPI

app = FastAPI()


@app.get("/hello")
async def hello() -> dict[str, str]:
    return {"hello": "world"}
