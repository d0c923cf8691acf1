"""The names exports give things, as ``init`` recognises them: column names per role, funnel stages,
micro-conversion words. Kept apart from the code that uses them so that supporting another export's
naming is an edit of data only.

Names are compared after :func:`squash` (lower case, separators dropped), so one entry covers
``user_id``, ``userId`` and ``User ID``.
"""
from __future__ import annotations

import re

def squash(name: object) -> str:
    """A column or event name compared loosely: lower case, without separators (``User ID`` -> ``userid``)."""
    return re.sub(r"[^0-9a-z]+", "", str(name).lower())


def normalize_event_name(name: object) -> str:
    """``Product Viewed`` -> ``product_viewed``, ``addToCart`` -> ``add_to_cart``, ``product-view`` ->
    ``product_view``."""
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", str(name))
    return re.sub(r"[^0-9a-z]+", "_", text.lower()).strip("_")


# Column names, best first, as squash() spells them.
USER_NAMES = ("userid", "clientid", "distinctid", "anonymousid", "user", "userpseudoid", "visitorid",
              "fullvisitorid", "customerid", "personid", "memberid", "accountid", "contactid", "uid",
              "deviceid", "cookieid", "amplitudeid", "anonid", "visitor", "customer", "domainuserid")
EVENT_NAMES = ("eventname", "event", "eventtype", "action", "name", "eventaction", "eventkey", "type",
               "activity", "eventlabel")
TIMESTAMP_NAMES = ("timestamp", "eventtimestamp", "eventtime", "time", "ts", "datetime", "eventdatetime",
                   "occurredat", "createdat", "receivedat", "senttime", "sentat", "clienttime", "servertime",
                   "timestamputc", "eventts", "date", "eventdate")
DATE_NAMES = ("date", "eventdate")  # weak: often a day next to a finer timestamp
SESSION_NAMES = ("sessionid", "gasessionid", "session", "sessionkey", "sessionuuid", "visitid", "sessionidentifier",
                 "domainsessionid", "usersession")
REVENUE_NAMES = ("revenue", "transactionvalue", "transactionrevenue", "ordervalue", "ordertotal", "purchasevalue",
                 "purchaserevenue", "totalrevenue", "revenueusd", "value", "amount", "total", "totalprice",
                 "price")
SEGMENT_WORDS = ("source", "channel", "medium", "campaign", "platform", "device", "country", "browser", "os",
                 "group", "variant", "bucket", "backet", "experiment", "segment", "cohort", "lifecycle", "plan")

# Funnel stages in order: (conversion name, why, tiers). A tier is a list of regular
# expressions full-matched against squash(event name); the first tier with events present wins
# and all of its events form the step (product1 and product2, say).
STAGES: tuple[tuple[str, str, tuple[tuple[str, ...], ...]], ...] = (
    ("view_product", "looks like a product view", (
        ("viewitem", "productview(ed)?", "viewproduct", "viewedproduct", "productpageview(ed)?", "productdetails?",
         "productdetails?view(ed)?", "viewproductdetails?", "pdp(view)?", "itemview(ed)?", "vieweditem",
         "productpage", "productopen(ed)?"),
        (r"product\d*", "item", "view"),
    )),
    ("add_to_cart", "looks like adding to the cart", (
        ("addtocart", "addedtocart", "productadded(tocart)?", "addtobasket", "addedtobasket", "additemtocart",
         "cartadd(ed)?", "addcart", "basketadd(ed)?", "itemadded(tocart)?", "addtobag", "addedtobag"),
        ("cart", "basket", "viewcart", "cartview(ed)?", "viewbasket", "shoppingcart", "bag"),
    )),
    ("begin_checkout", "looks like starting the checkout", (
        ("begincheckout", "checkoutstart(ed)?", "startcheckout", "startedcheckout", "initiatecheckout",
         "initiatedcheckout", "checkout", "proceedtocheckout", "viewcheckout", "checkoutview(ed)?", "checkoutpage"),
    )),
    ("shipping", "looks like shipping or delivery details", (
        ("addshippinginfo", "shippinginfo(entered|submitted|added)?", "checkoutshippinginfosubmitted",
         "shippingdetails", "shipping", "shippingaddress", "shippingmethod", "selectshipping(method)?",
         "deliverychoice", "delivery", "deliverydetails", "deliveryinfo", "deliveryaddress", "selectdelivery"),
    )),
    ("payment", "looks like payment details", (
        ("addpaymentinfo", "paymentinfo(entered|submitted|added)?", "checkoutpaymentinfosubmitted",
         "paymentdetails", "paymentchoice", "paymentmethod", "selectpayment(method)?", "payment", "enterpayment",
         "billing(info|details)?", "paymentpage"),
    )),
    ("purchase", "looks like a purchase: the goal", (
        ("purchase(d|done|complete|completed|success|successful)?", "paymentdone",
         "order(completed|complete|placed|confirmed|success|created|done)", "completedorder", "placeorder",
         "placedorder", "checkout(completed|complete|success)", "completepurchase", "transaction(complete|completed)?",
         "payment(success|successful|completed|complete|confirmed)", "ecommercepurchase", "inapppurchase"),
        ("order", "thankyou(page)?", "buy"),
    )),
)
MACRO_STAGE = "purchase"

# Words (or two adjacent words joined) that make an event a secondary conversion, and words that veto it.
SECONDARY_WORDS = frozenset((
    "newsletter", "signup", "subscribe", "subscribed", "subscription", "register", "registered", "registration",
    "createaccount", "accountcreated", "video", "play", "played", "download", "downloaded", "share", "shared",
    "search", "searched", "pricing", "wishlist", "compare", "review", "reviews", "contact", "chat", "demo",
    "trial", "lead", "coupon", "favorite", "favourite", "bookmark",
))
VETO_WORDS = frozenset(("error", "fail", "failed", "failure", "bug", "cancel", "cancelled", "canceled", "remove",
                        "removed", "delete", "deleted", "unsubscribe", "unsubscribed"))
