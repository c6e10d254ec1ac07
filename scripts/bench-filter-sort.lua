-- wrk script: random 20° boxes, a random cloud-cover filter and sortby=-datetime (memory soak of the extension path).
math.randomseed(7)
request = function()
  local c = math.random(0, 60)
  local west = math.random(-175, 150)
  local south = math.random(-75, 60)
  local path = string.format("/search?limit=10&bbox=%d,%d,%d,%d&filter=%%22eo%%3Acloud_cover%%22%%20%%3C%%20%d&sortby=-datetime", west, south, west + 20, south + 20, c)
  return wrk.format("GET", path)
end
