"""The offline server's web: a few short pages written for it, on made-up `.offline.example` sites, so that
`--web` finds, quotes and cites something deterministic. None of it is the live web, and every title says so."""
from __future__ import annotations

PAGES = (
    {"url": "https://geo.offline.example/everest",
     "title": "Mount Everest (offline page)",
     "text": "Mount Everest is the highest mountain above sea level, 8,849 metres tall by the 2020 survey. "
             "It stands on the border of Nepal and China, in the Mahalangur range of the Himalayas. "
             "The first confirmed ascent was by Tenzing Norgay and Edmund Hillary in 1953."},
    {"url": "https://geo.offline.example/nile",
     "title": "The Nile (offline page)",
     "text": "The Nile is a river of north-eastern Africa, about 6,650 kilometres long. "
             "It flows north through eleven countries into the Mediterranean Sea. "
             "Its two main tributaries are the White Nile and the Blue Nile, which meet at Khartoum."},
    {"url": "https://docs.offline.example/python-release",
     "title": "Python release cycle (offline page)",
     "text": "A new Python version is released every year in October. "
             "Each version gets two years of bug fixes and then three years of security fixes. "
             "Python 3.13 added a free-threaded build and a new interactive shell."},
    {"url": "https://docs.offline.example/jupyterlab",
     "title": "JupyterLab in short (offline page)",
     "text": "JupyterLab is the web interface of Project Jupyter for notebooks, code and data. "
             "It has a light and a dark theme, and extensions add panels and renderers. "
             "A notebook keeps each cell's outputs, so a saved notebook shows what ran."},
    {"url": "https://weather.offline.example/paris",
     "title": "Paris weather, a made-up forecast (offline page)",
     "text": "The offline forecast for Paris says mild and dry, 14 degrees in the afternoon. "
             "It is invented for the offline server and never changes. "
             "Real forecasts come from a real weather service."},
    {"url": "https://news.offline.example/tea",
     "title": "Tea consumption by country (offline page)",
     "text": "Turkey drinks the most tea per person, about three kilograms a year. "
             "Ireland and the United Kingdom follow, at around two kilograms each. "
             "China grows the most tea of any country."},
)
