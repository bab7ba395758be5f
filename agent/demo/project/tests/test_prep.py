import numpy as np
import pandas as pd
from marketlab import prep


def _stocks() -> pd.DataFrame:
    market = pd.DataFrame({
        "code": ["S0000", "S0001", "S0002", "S0000"],
        "sector": ["tech", "energy", "tech", "tech"],
    })
    return prep.stock_table(market)


def test_code_to_sector():
    assert prep.code_to_sector(_stocks()) == {"S0000": "tech", "S0001": "energy", "S0002": "tech"}


def test_listing_numbers_are_spelled_as_integers():
    assert prep.listing_to_code(_stocks()) == {"1301": "S0000", "1302": "S0001", "1303": "S0002"}


def test_sector_members_keep_listing_order():
    assert prep.sector_members(_stocks()) == {"tech": ["S0000", "S0002"], "energy": ["S0001"]}


def test_sector_ids_are_dense():
    assert prep.sector_ids(_stocks()).tolist() == [1, 0, 1]


def test_arrays_have_the_panel_shape():
    market = prep.load_market(n_stocks=8, n_days=30, seed=1)
    stocks = prep.stock_table(market)
    features, targets, returns = prep.to_arrays(market, stocks)
    assert features.shape == (30, 8, len(prep.FEATURES))
    assert targets.shape == (30, 8, len(prep.TARGETS))
    assert returns.shape == (30, 8)
    assert np.isfinite(features).all()
    assert np.isnan(targets[-1, :, 0]).all()  # no future after the last day
