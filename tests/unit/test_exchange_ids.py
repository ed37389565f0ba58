"""ccxt's exchange ids, as create-portfolio checks them without importing ccxt."""

from papertrade.adapters.exchange import exchange_ids


def test_the_ids_read_from_ccxts_modules_are_ccxts_own_list():
    import ccxt

    assert list(exchange_ids()) == sorted(ccxt.exchanges)
