-- The data tables of one snapshot, created by each load as staging tables (the braced names are replaced
-- by the staging names, e.g. fact_flight_next) and renamed into place by the swap (warehouse.py).
-- Keys are added after the COPY: PRIMARY KEY on the *_key column of each dimension and of the
-- fact, the fact's FOREIGN KEYs to the dimensions.

CREATE TABLE {dim_date} (
    date_key      integer NOT NULL, -- yyyymmdd; -1 = unknown
    full_date     date,
    year          integer,
    quarter       integer,
    month         integer,
    month_name    text,
    day_of_month  integer,
    day_of_week   integer,           -- ISO: 1 = Monday ... 7 = Sunday
    day_name      text,
    is_weekend    boolean,
    iso_week      integer,
    is_unknown    boolean NOT NULL
);

CREATE TABLE {dim_airport} (
    airport_key       bigint NOT NULL, -- stable hash of the FAA code; -1 = unknown
    faa               text,
    name              text,
    lat               double precision,
    lon               double precision,
    alt_ft            integer,
    utc_offset_hours  double precision,
    dst               text,
    tzone             text,          -- IANA time zone used for the flight times
    is_unknown        boolean NOT NULL
);

CREATE TABLE {dim_airline} (
    airline_key  bigint NOT NULL,
    carrier      text,
    name         text,
    is_unknown   boolean NOT NULL
);

CREATE TABLE {dim_plane} (
    plane_key     bigint NOT NULL,
    tailnum       text,
    year_built    integer,
    type          text,
    manufacturer  text,
    model         text,
    engines       integer,
    seats         integer,
    speed_mph     integer,
    engine        text,
    is_unknown    boolean NOT NULL
);

CREATE TABLE {dim_weather} (
    weather_key        bigint NOT NULL, -- stable hash of (origin, hour); -1 = unknown
    origin_code        text,
    observed_hour_utc  timestamptz,
    temp_f             double precision,
    dewp_f             double precision,
    humid_pct          double precision,
    wind_dir_deg       integer,
    wind_speed_mph     double precision,
    wind_gust_mph      double precision,
    precip_in          double precision,
    pressure_mb        double precision,
    visib_mi           double precision,
    condition          text,         -- low_visibility | precipitation | high_wind | clear | unknown
    is_unknown         boolean NOT NULL
);

CREATE TABLE {fact_flight} (
    flight_key          bigint,      -- stable hash of the natural key
    batch_id            text,
    date_key            integer,     -- scheduled local departure date
    origin_airport_key  bigint,
    dest_airport_key    bigint,
    airline_key         bigint,
    plane_key           bigint,
    weather_key         bigint,      -- origin weather in the hour the flight left
    carrier_code        text,        -- degenerate: the source codes, also for unknown members
    flight_number       integer,
    tailnum             text,
    origin_code         text,
    dest_code           text,
    sched_dep_local     timestamp,   -- wall clock at the origin
    sched_dep_utc       timestamptz,
    dep_utc             timestamptz,
    dep_local           timestamp,   -- wall clock at the origin (no zone needed)
    sched_arr_hhmm      integer,     -- the source's arrival clocks, local at the destination, hhmm
    arr_hhmm            integer,     --   (1517 = 15:17, 2400 = midnight ending the day); kept for every flight
    sched_arr_utc       timestamptz, -- null when the destination's zone is unknown
    arr_utc             timestamptz,
    dep_delay_min       integer,
    arr_delay_min       integer,
    air_time_min        integer,
    distance_mi         integer,
    is_cancelled        boolean,
    is_diverted         boolean,
    delay_bucket        text         -- cancelled | diverted | on_time | late_15_59 | late_60_179 | late_180_plus
);

CREATE TABLE {quarantine} (
    batch_id      text NOT NULL,
    source_table  text NOT NULL,
    reason        text NOT NULL,
    natural_key   text NOT NULL,
    raw_record    jsonb NOT NULL     -- the source row as landed, every field as text
);
