-- wrk script: every request searches a different random 5°x5° box and half-year (used by bench-api.sh).
math.randomseed(42)
request = function()
  local west = math.random(-175, 170)
  local south = math.random(-75, 70)
  local year = math.random(2020, 2024)
  local path = string.format(
    "/search?limit=10&bbox=%d,%d,%d,%d&datetime=%d-01-01T00:00:00Z/%d-06-30T00:00:00Z",
    west, south, west + 5, south + 5, year, year)
  return wrk.format("GET", path)
end
