"""The plan layers as the core knows them: what each layer is and what of it the public may see.

Modules are added beside each other here; this file stays empty so that none of them is loaded without being asked.
"""
