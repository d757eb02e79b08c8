"""Customer messages labelled by hand for the offline enrichment engine (tests/enrichment/test_offline.py).

Labelled before the engine was written and never changed to match its output: these are what a careful person on
a support desk would say. Sentiment is how the customer feels: a problem stated flatly is neutral, mixed praise and
complaint is neutral, sarcasm is read for what it means. Severity follows the triage schema's description.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Labelled:
    text: str
    sentiment: str
    severity: str
    category: str


CASES: tuple[Labelled, ...] = (
    # Billing and payments.
    Labelled(
        "I was charged twice for my March invoice. Please fix this and refund the duplicate charge.",
        "negative",
        "high",
        "billing",
    ),
    Labelled("Hi, could you tell me if you accept PayPal as a payment method?", "neutral", "low", "billing"),
    Labelled(
        "Why did my monthly price go up from $12 to $18 without any warning?? This is ridiculous.",
        "negative",
        "high",
        "billing",
    ),
    Labelled(
        "My card payment keeps failing at checkout even though the card works everywhere else.",
        "negative",
        "medium",
        "billing",
    ),
    Labelled("Can I get a copy of my invoice for October? Need it for my expenses.", "neutral", "low", "billing"),
    Labelled(
        "yoiu charged my card $49.99 after I canceled the trial. I want this money back now or I'm disputing it "
        "with my bank.",
        "negative",
        "high",
        "billing",
    ),
    Labelled(
        "Hello,\n\nI placed an order on the 3rd (order 10023) and paid by bank transfer. Your system still shows "
        "the payment as pending, and I received an email saying my order will be cancelled if I don't pay within "
        "48 hours. I have the bank receipt. Could someone please look into this?\n\nKind regards,\nAnna",
        "neutral",
        "medium",
        "billing",
    ),
    Labelled(
        "This is fraud. You took money from my account without authorisation and I'm reporting you to the "
        "Financial Ombudsman.",
        "negative",
        "critical",
        "billing",
    ),
    # Refunds and returns.
    Labelled(
        "I returned the blender three weeks ago and still haven't received my refund.",
        "negative",
        "high",
        "refund_return",
    ),
    Labelled(
        "How do I print a return label? The link in the email doesn't work.", "neutral", "medium", "refund_return"
    ),
    Labelled(
        "The shoes don't fit, I'd like to send them back and get a refund please.", "neutral", "low", "refund_return"
    ),
    Labelled("Still waiting for my money back. It's been 45 days. Unacceptable.", "negative", "high", "refund_return"),
    Labelled("Is it possible to return an opened item if it's within 30 days?", "neutral", "low", "refund_return"),
    # Shipping and delivery.
    Labelled(
        "My parcel was supposed to arrive Monday, tracking hasn't updated in 5 days.",
        "negative",
        "medium",
        "shipping_delivery",
    ),
    Labelled(
        "The box arrived completely crushed and the vase inside was in pieces.",
        "negative",
        "medium",
        "shipping_delivery",
    ),
    Labelled(
        "Can I change the delivery address on order #88213? I'm moving next week.",
        "neutral",
        "low",
        "shipping_delivery",
    ),
    Labelled(
        "Tracking says delivered but nothing is at my door. Neighbours haven't seen it either.",
        "negative",
        "medium",
        "shipping_delivery",
    ),
    Labelled(
        "Great, another 'delivery attempted' note when I was home all day. Fantastic service.",
        "negative",
        "medium",
        "shipping_delivery",
    ),
    Labelled("wheres my order?? ordered 2 weeks ago, no email no nothing", "negative", "medium", "shipping_delivery"),
    Labelled("The product itself is great, but delivery took three weeks.", "neutral", "low", "shipping_delivery"),
    # Technical problems.
    Labelled(
        "The app crashes every time I open the camera screen on my Pixel 7.", "negative", "medium", "technical_issue"
    ),
    Labelled(
        "Your website is down for everyone in our office, nothing works, we can't process any orders.",
        "negative",
        "critical",
        "technical_issue",
    ),
    Labelled(
        "Getting 'Error 502 Bad Gateway' when uploading files larger than 10MB.", "neutral", "medium", "technical_issue"
    ),
    Labelled(
        "The dashboard has been really slow since the last update, takes like 30 seconds to load.",
        "negative",
        "medium",
        "technical_issue",
    ),
    Labelled(
        "Sync between the desktop and phone app stopped working yesterday. Notes I write on one never show up on "
        "the other.",
        "negative",
        "medium",
        "technical_issue",
    ),
    Labelled(
        "We're seeing customer records exposed through your public API without any authentication. This is a "
        "serious security breach, please escalate.",
        "negative",
        "critical",
        "technical_issue",
    ),
    Labelled(
        "Love the app but the dark mode toggle doesn't save, it resets every time I restart.",
        "neutral",
        "medium",
        "technical_issue",
    ),
    Labelled(
        "Oh wonderful, the update deleted all my saved projects. Just what I needed.",
        "negative",
        "high",
        "technical_issue",
    ),
    Labelled(
        "Used to be good. Now after the redesign I can't find anything and it logs me out every few minutes. 1 star.",
        "negative",
        "medium",
        "technical_issue",
    ),
    # Account and login.
    Labelled(
        "I can't log in, it says my password is wrong but I just reset it.", "negative", "medium", "account_access"
    ),
    Labelled(
        "Locked out of my account after too many attempts. How long until I can try again?",
        "neutral",
        "medium",
        "account_access",
    ),
    Labelled(
        "The two-factor code never arrives by SMS so I can't get into my account at all.",
        "negative",
        "medium",
        "account_access",
    ),
    Labelled(
        "Someone changed my email and password and I've lost access to my account. I think I've been hacked and "
        "there are purchases on it I didn't make.",
        "negative",
        "critical",
        "account_access",
    ),
    Labelled("How do I enable two-factor authentication?", "neutral", "low", "account_access"),
    Labelled(
        "password reset email never comes. checked spam. 3rd time asking.", "negative", "medium", "account_access"
    ),
    Labelled("teh app wont let me sing in, keeps saying invalid tokn", "neutral", "medium", "account_access"),
    # Product quality.
    Labelled(
        "The zipper on the backpack broke after two days of use. Really disappointed with the quality.",
        "negative",
        "medium",
        "product_quality",
    ),
    Labelled(
        "The charger I bought gets extremely hot and started smoking last night. This is a fire hazard.",
        "negative",
        "critical",
        "product_quality",
    ),
    Labelled(
        "Colour is nothing like the photos, it's more brown than red. Not as described.",
        "negative",
        "medium",
        "product_quality",
    ),
    Labelled(
        "Headphones stopped charging after a month. Left earbud is completely dead.",
        "negative",
        "medium",
        "product_quality",
    ),
    Labelled(
        "The kettle leaks from the bottom, so it's useless. Cheap plastic.", "negative", "medium", "product_quality"
    ),
    Labelled(
        "My son cut his hand on a sharp edge of the toy and needed stitches. That edge should never have been so "
        "sharp.",
        "negative",
        "critical",
        "product_quality",
    ),
    Labelled(
        "I've contacted my lawyer and will be filing a lawsuit if you don't respond about the faulty heater.",
        "negative",
        "critical",
        "product_quality",
    ),
    # Cancellation.
    Labelled("Please cancel my subscription effective immediately.", "neutral", "medium", "cancellation"),
    Labelled(
        "If this isn't fixed by Friday I'm cancelling and moving to your competitor.",
        "negative",
        "high",
        "cancellation",
    ),
    Labelled("How do I close my account and delete all my data?", "neutral", "low", "cancellation"),
    Labelled(
        "I want to cancel my order #5512 before it ships, I ordered the wrong size.",
        "neutral",
        "medium",
        "cancellation",
    ),
    Labelled(
        "Been trying to cancel for a week and your site keeps sending me in circles. Just close my account.",
        "negative",
        "medium",
        "cancellation",
    ),
    # The support experience.
    Labelled(
        "I've been on hold for over an hour and nobody has picked up. Terrible support.",
        "negative",
        "high",
        "customer_service",
    ),
    Labelled(
        "Your agent Mark was rude to me and hung up when I asked for a manager.",
        "negative",
        "high",
        "customer_service",
    ),
    Labelled(
        "I emailed support four times this week and haven't had a single reply.",
        "negative",
        "medium",
        "customer_service",
    ),
    Labelled(
        "The chatbot keeps sending me links to the FAQ instead of answering my question. I just want to talk to a "
        "human.",
        "negative",
        "medium",
        "customer_service",
    ),
    Labelled(
        "Thanks for nothing. Three weeks and my issue is still 'being looked into'.",
        "negative",
        "medium",
        "customer_service",
    ),
    # Suggestions and feature requests.
    Labelled(
        "It would be great if you could add an export to CSV option for reports.", "neutral", "low", "feature_request"
    ),
    Labelled("Please add dark mode! My eyes hurt at night.", "neutral", "low", "feature_request"),
    Labelled(
        "Any plans to support Apple Pay? Would make checkout so much faster.", "neutral", "low", "feature_request"
    ),
    Labelled("Idea: let us schedule messages to send later. I'd use it daily.", "neutral", "low", "feature_request"),
    Labelled(
        "The app is decent but really needs an offline mode, I travel a lot and it's useless on the plane.",
        "neutral",
        "low",
        "feature_request",
    ),
    # Praise and thanks.
    Labelled(
        "Sarah from your support team was amazing, she solved my issue in five minutes. Thank you!",
        "positive",
        "low",
        "praise",
    ),
    Labelled("Absolutely love this product, it changed how our team works. Keep it up!", "positive", "low", "praise"),
    Labelled("Fast delivery and the quality is excellent. Will definitely order again.", "positive", "low", "praise"),
    Labelled(
        "Just wanted to say thanks for the quick fix yesterday, everything works perfectly now.",
        "positive",
        "low",
        "praise",
    ),
    Labelled("5 stars. Best app I've used for budgeting, simple and clean.", "positive", "low", "praise"),
    # Anything else.
    Labelled("Do you have a physical store in Manchester?", "neutral", "low", "other"),
    Labelled("What are your opening hours over the holidays?", "neutral", "low", "other"),
    Labelled("Are you hiring? I'd love to work for your company.", "positive", "low", "other"),
    Labelled("Is your product available in Canada?", "neutral", "low", "other"),
    Labelled(
        "I'm a journalist writing a story about your recent price changes and would like a comment from your team.",
        "neutral",
        "high",
        "other",
    ),
    Labelled(
        "You keep emailing me after I unsubscribed three times. I'm filing a complaint with the data protection "
        "authority.",
        "negative",
        "critical",
        "other",
    ),
)

# Written and labelled after the engine's first measurements on CASES but before any tuning, and never tuned on:
# its accuracy says how far the tuning on CASES carries over to messages the engine was not shaped around.
HELD_OUT: tuple[Labelled, ...] = (
    Labelled(
        "Your invoice lists 12 seats but we only have 8 users. Please correct it.", "neutral", "medium", "billing"
    ),
    Labelled(
        "Absolutely furious. You've taken three payments this month for one subscription!!",
        "negative",
        "high",
        "billing",
    ),
    Labelled("Do you offer a discount for annual billing?", "neutral", "low", "billing"),
    Labelled(
        "I sent the jacket back on the 2nd, the tracking shows you got it, but no refund yet.",
        "negative",
        "high",
        "refund_return",
    ),
    Labelled("What's your returns policy for sale items?", "neutral", "low", "refund_return"),
    Labelled(
        "Parcel has been stuck 'in transit' for ten days and the courier won't tell me anything.",
        "negative",
        "medium",
        "shipping_delivery",
    ),
    Labelled(
        "You delivered my order to the wrong address, a neighbour two streets away had it.",
        "negative",
        "medium",
        "shipping_delivery",
    ),
    Labelled(
        "Every time I try to upload a photo the page freezes and I have to reload.",
        "negative",
        "medium",
        "technical_issue",
    ),
    Labelled(
        "Nothing works since this morning, all our users get a blank page. Is there an outage?",
        "negative",
        "critical",
        "technical_issue",
    ),
    Labelled(
        "The search doesn't return results for words with accents, like café.", "neutral", "medium", "technical_issue"
    ),
    Labelled("I forgot my password and the reset link has expired.", "neutral", "medium", "account_access"),
    Labelled(
        "my account got suspended for no reason?? i havent done anything wrong",
        "negative",
        "medium",
        "account_access",
    ),
    Labelled(
        "The seams on both cushions split within a week. Very poor quality for the price.",
        "negative",
        "medium",
        "product_quality",
    ),
    Labelled(
        "The heater's plug melted and there was a burning smell. Luckily I was in the room.",
        "negative",
        "critical",
        "product_quality",
    ),
    Labelled("How do I stop my membership from renewing next month?", "neutral", "low", "cancellation"),
    Labelled(
        "Honestly I'm done. Cancel everything, I'm switching to another provider.",
        "negative",
        "high",
        "cancellation",
    ),
    Labelled(
        "Your support person promised a call back on Tuesday. It's Friday. No call.",
        "negative",
        "medium",
        "customer_service",
    ),
    Labelled(
        "Waited 40 minutes in the chat queue just to be disconnected. Awful.",
        "negative",
        "high",
        "customer_service",
    ),
    Labelled("Would love a way to share folders with people outside our team.", "neutral", "low", "feature_request"),
    Labelled("Please consider adding keyboard shortcuts for the editor.", "neutral", "low", "feature_request"),
    Labelled("Huge thanks to Priya in support, she went above and beyond.", "positive", "low", "praise"),
    Labelled("Brilliant service, my order arrived a day early and beautifully packed.", "positive", "low", "praise"),
    Labelled("Do you ship to Norway, and if so how long does it take?", "neutral", "low", "shipping_delivery"),
    Labelled("Can I speak to someone about a partnership with your company?", "neutral", "low", "other"),
    Labelled(
        "Your app charged me for something I never ordered. If this isn't sorted I'll get my solicitor involved.",
        "negative",
        "critical",
        "billing",
    ),
)
