"""Market-data vendors behind the BarVendor port: Alpaca (alpaca-py), Alpha Vantage, Finnhub,
Twelve Data and Yahoo (httpx). Each normalises to ts_close-labelled, ordered, deduplicated bars;
none of them gates: that is the application's gatekeeper's job."""

from aitrader.adapters.vendors._http import VendorSettings
from aitrader.adapters.vendors.alpaca import AlpacaVendor
from aitrader.adapters.vendors.alpaca_stream import DEFAULT_STREAM_URL, AlpacaBarStream
from aitrader.adapters.vendors.alphavantage import AlphaVantageVendor
from aitrader.adapters.vendors.finnhub import FinnhubVendor
from aitrader.adapters.vendors.twelvedata import TwelveDataVendor
from aitrader.adapters.vendors.yahoo import YahooVendor

DEFAULT_BASE_URLS = {
    "alpaca": "https://data.alpaca.markets",
    "alphavantage": "https://www.alphavantage.co",
    "finnhub": "https://finnhub.io/api/v1",
    "twelvedata": "https://api.twelvedata.com",
    "yahoo": "https://query1.finance.yahoo.com",
}
"""Each HTTP vendor's production base URL (AITRADER_<VENDOR>_BASE_URL overrides it)."""

__all__ = ["DEFAULT_BASE_URLS", "DEFAULT_STREAM_URL", "AlpacaBarStream", "AlpacaVendor",
           "AlphaVantageVendor", "FinnhubVendor", "TwelveDataVendor", "VendorSettings",
           "YahooVendor"]
