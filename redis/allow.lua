-- Check a call against rolling windows and record it if every window has
-- room, atomically.
-- KEYS[1]: the key's sorted set (member: a unique call id, score: its time in µs)
-- ARGV[1]: now in µs, or "" for the server's clock
-- ARGV[2]: the call's unique member
-- ARGV[3], ARGV[4], ...: limit, window length in µs, for each window
-- Returns {0, 0} when the call is recorded, else {µs until a call would be
-- accepted, the 0-based index of the window with that wait (the first of
-- the longest)}.
local now = tonumber(ARGV[1])
if not now then
  if redis.replicate_commands then redis.replicate_commands() end
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local longest = 0
for i = 3, #ARGV, 2 do
  local w = tonumber(ARGV[i + 1])
  if w > longest then longest = w end
end
-- Calls at or before now - longest have left every window.
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - longest)
local retry = 0
local window = 0
for i = 3, #ARGV, 2 do
  local limit = tonumber(ARGV[i])
  local w = tonumber(ARGV[i + 1])
  -- The limit-th most recent call: while it is inside the window the
  -- window is full, and it is the first to leave.
  local e = redis.call('ZREVRANGE', KEYS[1], limit - 1, limit - 1, 'WITHSCORES')
  if #e > 0 then
    local wait = tonumber(e[2]) + w - now
    if wait > retry then
      retry = wait
      window = (i - 3) / 2
    end
  end
end
if retry > 0 then return {retry, window} end
redis.call('ZADD', KEYS[1], now, ARGV[2])
redis.call('PEXPIRE', KEYS[1], math.ceil(longest / 1000) + 1000)
return {0, 0}
