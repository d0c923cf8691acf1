"""Generate the example e-commerce log ``examples/shop_events.csv`` and ``.parquet``.

Why: the docs, the tutorial and the end-to-end tests need a small, realistic log whose
answers are known in advance. ``python examples/generate_examples.py`` rebuilds both files
from one numpy generator seeded with 20261123; the two files hold the same rows, in
timestamp order (ties keep generation order), and the Parquet file stores ``timestamp`` as
timestamp[ms, UTC] and empty strings as nulls.

Shape. 4,000 users (``u000001`` ..), October 2026 (UTC). A user gets 1..20 sessions (long
tailed; those that would fall after October 31 are dropped), each on its own day, starting at
a daytime-weighted hour; a session is a burst of
events seconds to minutes apart, opened by a ``page_view`` whose URL carries
``?utm_source=`` (the user's channel on the first session, on later ones the user's
channel 70% of the time and a random channel otherwise). Columns ``utm_source`` (the
acquisition channel) and ``device`` are fixed per user.

Funnel. Each user's depth is drawn stage by stage (V = video watcher, E = email user):

    view_item                     0.60
    add_to_cart    | view_item    0.35, doubled to 0.70 for V
    begin_checkout | add_to_cart  0.44, doubled to 0.88 for E
    purchase       | checkout     0.65 desktop, 0.45 mobile, 0.55 tablet

so P(purchase) = 0.6 * 0.35 * 0.44 * completion(device) * 2^V * 2^E. A user who reaches a
stage has the earlier ones too: one ``view_item`` (preceded a second earlier by a
``page_view`` of the same product URL), then ``add_to_cart``, ``begin_checkout`` and
``purchase`` minutes apart in one session. Stage draws use systematic sampling within strata
(newsletter, video, channel, device), so realised rates match these probabilities to within a
user or two per stratum instead of carrying binomial noise.

PLANTED EFFECTS (purchase = the user has at least one ``purchase`` event):

* ``video_play``: exactly 20% of users (800) watch; their purchase probability is exactly
  2x that of non-watchers with the same channel and device. Their first ``video_play`` is in
  their first session, 5-50 s after it starts, so before any funnel event and purchase
  (Poisson(0.5) more plays follow at random times).
* ``sign_up`` with ``{"method": "newsletter"}``: exactly 15% of users (600), drawn
  independently of everything, in their first session before any funnel event: NO effect.
  Not so ``{"method": "account"}``: 40% of users who reach ``begin_checkout`` sign up for an
  account 3-20 s before their first ``begin_checkout``, so ``sign_up`` without a method
  filter *is* associated with purchase.
* Channel: ``email`` users (16%) purchase at exactly 2x the rate of the others; google
  (30%), direct (20%), facebook (17%) and tiktok (17%) share one baseline, so facebook vs
  tiktok is a planted non-difference.
* Device: begin_checkout -> purchase completion is 0.65 desktop (45% of users), 0.45 mobile
  (45%), 0.55 tablet (10%); the earlier stages do not depend on device.

Realised in the files (share of the 4,000 identified users with a purchase): 284
purchasers (7.10%); video watchers 12.00% (96/800) vs non-watchers 5.88% (188/3,200);
newsletter 7.17% (43/600) vs 7.09% (241/3,400); any sign_up 17.8% vs 4.5%; email 12.19%
(78/640) vs 6.13% for the rest (google 6.08%, direct 6.25%, facebook 5.88%, tiktok 6.32%);
begin_checkout -> purchase desktop 66.1% (156/236), mobile 44.2% (99/224), tablet 53.7%
(29/54). 10 purchasers first buy more than 7 days after their first view_item.

Messiness that the tool has to cope with (each a deliberate test of a rule in
docs/semantics.md):

* 0.3% of rows are anonymous landing page_views (empty ``user_id``, random channel and
  device, each its own one-row session).
* 20 exact duplicate rows (copies of non-purchase rows, so revenue is not doubled).
* 4% of users who reach add_to_cart without a split (below) have their funnel ``view_item``
  and ``add_to_cart`` swapped in time (cart first).
* 35% of carting users with an earlier session view the product in a random earlier session
  and cart/check out/purchase in a later one, days apart: some purchases come more than 7
  days after the first ``view_item``.
* Repeats, in random sessions: Poisson(0.7) extra ``view_item`` per viewer; one extra
  ``view_item`` + ``add_to_cart`` (30 s later) for 25% of carters; 30% of purchasers with a
  later session buy again there (``begin_checkout`` + ``purchase``).

Event properties (``event_data``, JSON): purchase ``{"revenue": 59.9, "currency": "EUR",
"items": 2}`` (revenue long tailed in 10..400), sign_up ``{"method": ...}``, scroll
``{"percent": 25|50|75|90|100}``, video_play ``{"video_id": "v3"}``, file_download ``{"file":
...}``; empty on other events. ``page_url`` is set on page_view, view_item and add_to_cart.
"""
from __future__ import annotations

import sys
from functools import reduce
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

SEED = 20261123
OUT = Path(__file__).resolve().parent
N_USERS = 4000
DAYS = 31
MONTH_START = np.datetime64("2026-10-01T00:00:00", "s").astype(np.int64)
MONTH_END = MONTH_START + DAYS * 86400
SITE = "https://shop.example.com"
CHANNELS = np.array(["google", "direct", "facebook", "tiktok", "email"])
CHANNEL_SHARE = [0.30, 0.20, 0.17, 0.17, 0.16]
EMAIL = 4
DEVICES = np.array(["desktop", "mobile", "tablet"])
DEVICE_SHARE = [0.45, 0.45, 0.10]
P_VIEW, P_CART, P_CHECKOUT = 0.60, 0.35, 0.44
P_COMPLETE = np.array([0.65, 0.45, 0.55])
P_VIDEO, P_NEWSLETTER, P_ACCOUNT = 0.20, 0.15, 0.40
HOURLY = np.array([1, 1, 1, 1, 1, 2, 3, 5, 7, 8, 8, 8, 9, 9, 8, 8, 8, 9, 10, 11, 11, 9, 6, 3.0])
PAGES = np.array(["/", "/blog/seo-basics", "/blog/autumn-lookbook", "/blog/gift-ideas", "/pricing", "/cart"])
PAGE_SHARE = [0.40, 0.15, 0.12, 0.10, 0.18, 0.05]
N_SKUS = 40
FILES = np.array(["ebook-seo.pdf", "size-guide.pdf", "catalogue-2026.pdf"])


def cat(*parts) -> np.ndarray:
    """Element-wise string concatenation with broadcasting."""
    return reduce(np.char.add, [np.asarray(p).astype(str) for p in parts])


def shuffled(rng, n: int, shares) -> np.ndarray:
    """Category codes with exactly round(share * n) of each, in random order."""
    counts = np.round(np.asarray(shares) * n).astype(int)
    counts[0] += n - counts.sum()
    return rng.permutation(np.repeat(np.arange(len(counts)), counts))


def systematic(rng, p: np.ndarray, strata) -> np.ndarray:
    """Bernoulli(p) draws whose count in any stratum is sum(p) there, up to rounding."""
    order = np.lexsort((rng.random(p.size), *strata[::-1]))
    hit = np.diff(np.floor(rng.random() + np.cumsum(p[order])), prepend=0) > 0
    out = np.empty(p.size, bool)
    out[order] = hit
    return out


def starts(sizes: np.ndarray) -> np.ndarray:
    return np.cumsum(sizes) - sizes


def rank_in_group(sizes: np.ndarray) -> np.ndarray:
    return np.arange(sizes.sum()) - np.repeat(starts(sizes), sizes)


def group_cumsum(x: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    c = np.cumsum(x)
    first = starts(sizes)[sizes > 0]
    return c - np.repeat(c[first] - x[first], sizes[sizes > 0])


def pick(rng, choices, n: int, p=None) -> np.ndarray:
    return np.asarray(choices)[rng.choice(len(choices), n, p=p)]


def product_url(sku) -> np.ndarray:
    return cat(SITE + "/product/sku-", sku)


def session_ids(index: np.ndarray) -> np.ndarray:
    return cat("s", np.char.zfill((index + 1).astype(str), 7))


def purchase_data(rng, n: int) -> np.ndarray:
    items = 1 + np.minimum(rng.poisson(0.5, n), 4)
    revenue = np.clip(items * rng.lognormal(np.log(30), 0.6, n), 10, 400).round(2)
    return cat('{"revenue": ', revenue, ', "currency": "EUR", "items": ', items, "}")


def generate(rng) -> pd.DataFrame:
    n = N_USERS
    channel = shuffled(rng, n, CHANNEL_SHARE)
    device = shuffled(rng, n, DEVICE_SHARE)
    video = shuffled(rng, n, [1 - P_VIDEO, P_VIDEO]).astype(bool)
    newsletter = shuffled(rng, n, [1 - P_NEWSLETTER, P_NEWSLETTER]).astype(bool)
    strata = (newsletter, video, channel, device)
    viewed = systematic(rng, np.full(n, P_VIEW), strata)
    carted = systematic(rng, viewed * P_CART * (1 + video), strata)
    checked = systematic(rng, carted * P_CHECKOUT * (1 + (channel == EMAIL)), strata)
    bought = systematic(rng, checked * P_COMPLETE[device], strata)
    fav_sku = rng.integers(1, N_SKUS + 1, n)

    n_sess = 1 + np.minimum(rng.lognormal(0.2, 0.9, n), 19).astype(int)
    su = np.repeat(np.arange(n), n_sess)
    gap = np.where(rank_in_group(n_sess) == 0, rng.integers(0, DAYS, su.size), rng.geometric(0.3, su.size))
    day = group_cumsum(gap, n_sess)
    su, day = su[day < DAYS], day[day < DAYS]
    n_sess = np.bincount(su, minlength=n)
    first = starts(n_sess)
    n_s = su.size
    k = rank_in_group(n_sess)
    tod = rng.choice(24, n_s, p=HOURLY / HOURLY.sum()) * 3600 + rng.integers(0, 3600, n_s)
    start = np.minimum(MONTH_START + day * 86400 + tod, MONTH_END - 7200)
    s_channel = np.where((k == 0) | (rng.random(n_s) < 0.7), channel[su], rng.choice(5, n_s, p=CHANNEL_SHARE))

    def in_random_session(users):
        return first[users] + (rng.random(users.size) * n_sess[users]).astype(int)

    rows = []

    def add(session, t, name, url="", data=""):
        size = len(session)
        rows.append(dict(session=session, t=np.floor(t).astype(np.int64), name=np.broadcast_to(name, size),
                         url=np.broadcast_to(url, size), data=np.broadcast_to(data, size)))

    def view(session, t, url):
        add(session, t - 1, "page_view", url)
        add(session, t, "view_item", url)

    nb = 1 + rng.poisson(3.0, n_s)
    bs = np.repeat(np.arange(n_s), nb)
    landing = rank_in_group(nb) == 0
    t = start[bs] + group_cumsum(np.where(landing, 0, 3 + rng.exponential(40, bs.size)), nb)
    name = np.where(landing, "page_view", pick(rng, ["page_view", "scroll", "file_download", "share"], bs.size,
                                                [0.56, 0.34, 0.05, 0.05]))
    page = pick(rng, PAGES, bs.size, PAGE_SHARE)
    page = np.where(landing & (page == "/cart"), "/", page)
    url = np.where(landing, cat(SITE, page, "?utm_source=", CHANNELS[s_channel[bs]]), cat(SITE, page))
    data = np.select([name == "scroll", name == "file_download"],
                     [cat('{"percent": ', pick(rng, [25, 50, 75, 90, 100], bs.size, [0.35, 0.25, 0.2, 0.1, 0.1]), "}"),
                      cat('{"file": "', pick(rng, FILES, bs.size, [0.6, 0.25, 0.15]), '"}')], "")
    add(bs, t, name, np.where(name == "page_view", url, ""), data)

    fu = np.flatnonzero(viewed)
    m = fu.size
    f_loc = (rng.random(m) * n_sess[fu]).astype(int)
    split = carted[fu] & (f_loc > 0) & (rng.random(m) < 0.35)
    v_loc = np.where(split, (rng.random(m) * f_loc).astype(int), f_loc)
    sv, sf = first[fu] + v_loc, first[fu] + f_loc
    t_view = start[sv] + 60 + rng.exponential(90, m)
    t_cart = np.where(split, start[sf] + 60 + rng.exponential(60, m), t_view + 15 + rng.exponential(60, m))
    swap = carted[fu] & ~split & (rng.random(m) < 0.04)
    t_view, t_cart = np.where(swap, t_cart, t_view), np.where(swap, t_view, t_cart)
    t_check = np.maximum(t_view, t_cart) + 30 + rng.exponential(90, m)
    t_buy = t_check + 30 + rng.exponential(120, m)
    url = product_url(fav_sku[fu])
    view(sv, t_view, url)
    c, ch, b = carted[fu], checked[fu], bought[fu]
    add(sf[c], t_cart[c], "add_to_cart", url[c])
    add(sf[ch], t_check[ch], "begin_checkout")
    add(sf[b], t_buy[b], "purchase", data=purchase_data(rng, b.sum()))
    acct = ch & (rng.random(m) < P_ACCOUNT)
    add(sf[acct], t_check[acct] - rng.integers(3, 21, acct.sum()), "sign_up", data='{"method": "account"}')

    ru = np.repeat(fu, rng.poisson(0.7, m))
    rs = in_random_session(ru)
    t = start[rs] + 60 + rng.uniform(0, 900, ru.size)
    url = product_url(np.where(rng.random(ru.size) < 0.5, fav_sku[ru], rng.integers(1, N_SKUS + 1, ru.size)))
    view(rs, t, url)
    cu = fu[c & (rng.random(m) < 0.25)]
    rs = in_random_session(cu)
    t, url = start[rs] + 120 + rng.uniform(0, 900, cu.size), product_url(fav_sku[cu])
    view(rs, t - 30, url)
    add(rs, t, "add_to_cart", url)
    later = n_sess[fu] - f_loc - 1
    again = b & (later > 0) & (rng.random(m) < 0.3)
    rs = sf[again] + 1 + (rng.random(again.sum()) * later[again]).astype(int)
    t = start[rs] + 120 + rng.exponential(60, rs.size)
    add(rs, t, "begin_checkout")
    add(rs, t + 30 + rng.exponential(90, rs.size), "purchase", data=purchase_data(rng, rs.size))

    vu = np.flatnonzero(video)
    add(first[vu], start[first[vu]] + rng.integers(5, 51, vu.size), "video_play",
        data=cat('{"video_id": "v', rng.integers(1, 9, vu.size), '"}'))
    rs = in_random_session(np.repeat(vu, rng.poisson(0.5, vu.size)))
    add(rs, start[rs] + rng.uniform(10, 900, rs.size), "video_play",
        data=cat('{"video_id": "v', rng.integers(1, 9, rs.size), '"}'))
    nu = np.flatnonzero(newsletter)
    add(first[nu], start[first[nu]] + rng.integers(5, 56, nu.size), "sign_up", data='{"method": "newsletter"}')

    ev = {key: np.concatenate([r[key] for r in rows]) for key in rows[0]}
    user = su[ev["session"]]
    session_rank = np.empty(n_s, np.int64)
    session_rank[np.argsort(start, kind="stable")] = np.arange(n_s)
    known = {
        "user_id": cat("u", np.char.zfill((user + 1).astype(str), 6)),
        "timestamp": ev["t"],
        "event_name": ev["name"],
        "page_url": ev["url"],
        "event_data": ev["data"],
        "utm_source": CHANNELS[channel[user]],
        "device": DEVICES[device[user]],
        "session_id": session_ids(session_rank[ev["session"]]),
    }
    dup = rng.choice(np.flatnonzero(ev["name"] != "purchase"), 20, replace=False)
    n_anon = round(0.003 * user.size / 0.997)
    anon_channel = rng.choice(5, n_anon, p=CHANNEL_SHARE)
    anon = {
        "user_id": "",
        "timestamp": MONTH_START + rng.integers(0, DAYS * 86400 - 7200, n_anon),
        "event_name": "page_view",
        "page_url": cat(SITE, pick(rng, PAGES[:-1], n_anon), "?utm_source=", CHANNELS[anon_channel]),
        "event_data": "",
        "utm_source": CHANNELS[anon_channel],
        "device": pick(rng, DEVICES, n_anon, DEVICE_SHARE),
        "session_id": session_ids(n_s + np.arange(n_anon)),
    }
    df = pd.DataFrame({c: np.concatenate([known[c], known[c][dup], np.broadcast_to(anon[c], n_anon)]) for c in known})
    assert df["timestamp"].between(MONTH_START, MONTH_END - 1).all()
    return df.sort_values("timestamp", kind="stable", ignore_index=True)


def main() -> None:
    df = generate(np.random.default_rng(SEED))
    epoch_s = df["timestamp"].to_numpy()
    csv = df.assign(timestamp=np.datetime_as_string(epoch_s.astype("datetime64[s]"), timezone="UTC"))
    csv.to_csv(OUT / "shop_events.csv", index=False)
    columns = {c: pa.array(df[c].to_numpy(object), pa.string(), mask=(df[c] == "").to_numpy())
               for c in df.columns if c != "timestamp"}
    columns["timestamp"] = pa.array(epoch_s * 1000, pa.timestamp("ms", tz="UTC"))
    pq.write_table(pa.table({c: columns[c] for c in df.columns}), OUT / "shop_events.parquet")
    users = df.loc[df["user_id"] != "", "user_id"]
    buyers = df.loc[df["event_name"] == "purchase", "user_id"].nunique()
    print(f"shop_events: {len(df):,} rows, {users.nunique():,} users, {buyers:,} purchasers "
          f"({(df['user_id'] == '').sum()} anonymous rows, {df.duplicated().sum()} duplicates)", file=sys.stderr)


if __name__ == "__main__":
    main()
