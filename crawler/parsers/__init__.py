"""One module per source; a new source is one module here and one line in crawler.crawl.SOURCES.

The whole contract of a source module:

    SPEC: crawler.source.SourceSpec   every fact of the source: name, regions, interval,
                                      frequency, staleness, required environment, disabled
                                      reason, backfill chunking, time convention
    parse(payload: Payload) -> ParseResult
        Pure: bytes in, readings out (MW; UTC interval starts; fuels of energy_data.fuels;
        regions of SPEC.regions), no network, database or clock. A body it cannot read raises
        ParseError with a message for a human; oddities that do not stop it are Anomalies
        (crawler.model.note). Recorded files go through this same function.
        Sources that report intensity instead of a mix fill ParseResult.reported (Electricity
        Maps: partial rows per zone and hour, combined by ParseResult.concat) or .marginal
        (WattTime's MOER), keyed by the provider's zone; zone_names names unknown zones.
    fetch_latest(client: HttpClient, now: datetime, last_success: datetime | None) -> list[Payload]
        What a regular `run` fetches (now: aware UTC). Daily-file sources pick their days with
        crawler.chunks.days_to_fetch. Raises FetchError only when nothing could be fetched; a
        part that failed is noted on the client (crawler.http.fetch_days does both).
    backfill_chunks(start: date, end: date) -> list[tuple[date, date]]
        The natural pieces covering [start, end) (crawler.chunks.day_chunks, month_chunks),
        or [] for a source without history.
    fetch_range(client: HttpClient, start: date, end: date) -> list[Payload]
        The bodies of one chunk [start, end); any failure raises FetchError, so that backfill
        lists the chunk as failed instead of leaving a silent hole.

Fetch functions only fetch (through crawler.http.HttpClient, which archives every body and
whose `<SPEC.name>_BASE_URL` override, crawler.http.base_url, points a source at a mirror; its
`memory` keeps what a source learned about its account between runs, crawler.memory);
module-level SOURCE, REGION, INTERVAL_MINUTES ... are read from SPEC, never stated twice.
"""
