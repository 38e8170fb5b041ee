"""The synthetic sample plans of Huế (``scripts/make_sample_data.py`` writes them to ``sample_data/``).

Everything is drawn in one local frame (:mod:`sample.frame`): metres along the Kinh thành's south-east face (``u``,
from its south corner towards Đông Ba) and across it (``v``, from the river into the citadel). The frame is turned
45° from east, as the citadel is, and placed so that the Imperial City holds the project's control point; the
layers are moved to EPSG:9214 only when written.

Modules, in the order the sample is built:

- :mod:`sample.frame`: the frame, the TT 16/2025 mandatory fields, the random sources;
- :mod:`sample.geography`: walls, bastions, gates, moat, canals, river, lakes, landmarks;
- :mod:`sample.network`: streets with their names, red-line widths and setbacks, and the areas the plan covers;
- :mod:`sample.blocks`: blocks (the land between red lines), red lines and building lines;
- :mod:`sample.lots`: blocks split into town, villa, corner and back lots, kiệt (alleys) to the back lots;
- :mod:`sample.places`: which blocks the cadastre covers (ward, map sheet, how their lots are cut), public parcels;
- :mod:`sample.zoning`: the zones of the plan and their rules (and the superseded 2019 version);
- :mod:`sample.cadastre`: parcel numbers, addresses, existing buildings;
- :mod:`sample.build`: all of the above together; :mod:`sample.checks`: what must hold of it;
- :mod:`sample.layers`: the GIS layers (TT 16/2025 field names), base map (``NenDiaHinh.gpkg``) included;
- :mod:`sample.cad`, :mod:`sample.scan`: the detailed plan as a DXF drawing, part of the zoning plan as a scan;
- :mod:`sample.readme`: ``sample_data/README.md`` and the example lots it names.
"""
