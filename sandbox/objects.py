"""One place to find any object by id, whether localstripe or the plugin holds it.

localstripe keeps its objects in ``localstripe.resources.store`` under ``"<object>:<id>"``; the
plugin keeps its own (prices, checkout sessions, disputes) in the same store as plain dicts, so
that a reset (``DELETE /_config/data``) and the optional persistence cover both.
"""

from localstripe import resources as ls

PLUGIN_KINDS = {"price_": "price", "cs_": "checkout.session", "dp_": "dispute"}

LOCALSTRIPE_KINDS = {
    "cus_": ls.Customer,
    "pi_": ls.PaymentIntent,
    "ch_": ls.Charge,
    "in_": ls.Invoice,
    "sub_": ls.Subscription,
    "prod_": ls.Product,
    "pm_": ls.PaymentMethod,
    "re_": ls.Refund,
    "si_": ls.SubscriptionItem,
    "seti_": ls.SetupIntent,
    "evt_": ls.Event,
    "txn_": ls.BalanceTransaction,
    "plan_": ls.Plan,
}


def put(kind, obj):
    ls.store[f"{kind}:{obj['id']}"] = obj
    return obj


def get(kind, id_):
    return ls.store.get(f"{kind}:{id_}")


def all_of(kind):
    """Objects of one kind in creation order (the store is an insertion-ordered dict)."""
    prefix = kind + ":"
    return [value for key, value in list(ls.store.items()) if key.startswith(prefix)]


def export(id_):
    """The raw dict of the object with this id, or None when there is none."""
    for prefix, kind in PLUGIN_KINDS.items():
        if id_.startswith(prefix):
            obj = get(kind, id_)
            return dict(obj) if obj is not None else None
    for prefix, cls in LOCALSTRIPE_KINDS.items():
        if id_.startswith(prefix):
            obj = ls.store.get(f"{cls.object}:{id_}")
            return obj._export() if obj is not None else None
    return None
