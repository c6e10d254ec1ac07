-- wrk script: every request searches a different random box and half-year (used by bench-api.sh).
-- BENCH_SIZE (degrees, default 5) sizes the box; BENCH_QUERY is appended to every query string.
math.randomseed(42)
local size = tonumber(os.getenv("BENCH_SIZE") or "5")
local extra = os.getenv("BENCH_QUERY") or ""
request = function()
  local west = math.random(-175, 180 - size)
  local south = math.random(-75, 90 - size)
  local year = math.random(2020, 2024)
  local path = string.format(
    "/search?limit=10&bbox=%d,%d,%d,%d&datetime=%d-01-01T00:00:00Z/%d-06-30T00:00:00Z%s",
    west, south, west + size, south + size, year, year, extra)
  return wrk.format("GET", path)
end
