"""Rate limits per partner and per citizen (SPEC section 5, ``RATE_LIMITED``), shared by every
gateway process through Redis when ``GATEWAY_REDIS_URL`` is set, else counted in each process."""
