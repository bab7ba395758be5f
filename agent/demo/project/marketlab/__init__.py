"""marketlab: a small stock-return training project on a synthetic market.

Data preparation in pandas (``prep``), a day-window dataset with a cache
(``dataset``) and a training loop (``train``) around the bundled
ATFT-GAT-FAN model.
"""
