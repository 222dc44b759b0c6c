"""The SI record of a citizen: contributions, HI cards, treatments and benefits, and its store."""
