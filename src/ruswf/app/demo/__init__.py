"""The demo: the seed's real agenda items walked through a year of the annual cycle."""
