"""One module per source. Each module defines:

    SOURCE: str                      the registry name (CAISO, NYISO, EIA, ...)
    INTERVAL_MINUTES: int            the native interval length
    parse(payload) -> ParseResult    pure: bytes in, readings out; ParseError on a bad body
    fetch_latest(client, now, last_success) -> list[Payload]
                                     what a regular `run` fetches (now: aware UTC datetime)
    backfill_chunks(start, end) -> list[tuple[date, date]]
                                     the natural chunks (day, month) covering [start, end)
    fetch_range(client, start, end) -> list[Payload]
                                     the bodies of one chunk [start, end)

Fetch functions only fetch (through crawler.http.HttpClient, which archives every body);
parsing stays in parse() so that recorded files go through exactly the same code.
"""
