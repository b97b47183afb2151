-- Argo CD health check for slipway.dev/Service: resource.customizations.health.slipway.dev_Service.
-- Argo CD runs it in gopher-lua (Lua 5.1) with the base and table libraries and a reduced os library only:
-- no string or math functions, so text is joined with `..`. It reads `obj` and returns { status, message }.

-- common: begin (the same in every Slipway health script; a unit test keeps the copies equal)

-- Ready=False reasons that mean "on its way": what Slipway waits for arrives without anyone acting.
-- Every other Ready=False reason is a failure that a person has to look at, so it is Degraded.
local WAITING = {
  Waiting = true,             -- an AWS resource waits for another one of the same plan
  EnvironmentNotFound = true, -- the Environment does not exist yet (sync waves create it first)
  EnvironmentNotReady = true, -- its load balancer, cluster or Cognito gate is still being created
  ServiceNotFound = true,     -- a preview's Service does not exist yet
  InUse = true,               -- an Environment being deleted waits for its Services and previews to go
  Throttled = true,           -- AWS throttled a call: the operator backs off and retries on its own
  Unavailable = true,         -- AWS or the network failed transiently: retried with backoff
  Drifted = true,             -- without Drifted=True: resources a changed spec no longer has were just removed
  Deleting = true,            -- a deletion in progress: the resources it owns go in reverse order
  InProgress = true,          -- the same, before its first step has reported
  DeadlineExceeded = true,    -- a pass ran out of time and was abandoned: retried with backoff
  Stopping = true,            -- the operator stopped during a pass: the next leader takes it up
}

local function condition(status, conditionType)
  if status == nil or status.conditions == nil then
    return nil
  end
  for _, c in ipairs(status.conditions) do
    if c.type == conditionType then
      return c
    end
  end
end

local function health(status, message)
  return { status = status, message = message }
end

local function explain(c)
  return (c.reason or "Unknown") .. ": " .. (c.message or "")
end

-- The most specific account of a failure: Synced=False names the AWS resource that failed and why.
-- (Only when it fails for the same reason: an Environment waiting to be deleted keeps an older Synced.)
local function why(status, ready)
  local synced = condition(status, "Synced")
  local same = synced ~= nil and synced.status == "False" and synced.reason == ready.reason
  return explain(same and synced or ready)
end

-- An object being deleted: Slipway removes its AWS resources behind a finalizer. Argo CD itself reports
-- "Pending deletion" for such objects before it runs a health script; this keeps the script right on its own.
local function deleting(obj)
  if obj.metadata.deletionTimestamp == nil then
    return nil
  end
  -- A deletion pass reports what it removed as not Ready (reason Drifted): that is the deletion progressing.
  local ready = condition(obj.status, "Ready")
  if ready ~= nil and ready.status == "False" and ready.reason ~= "Drifted" then
    return health("Progressing", "deleting: " .. why(obj.status, ready))
  end
  return health("Progressing", "deleting: Slipway is removing the AWS resources")
end

-- What the status says about the current spec, or nil when it is Ready with no reported drift.
local function assess(obj)
  local status = obj.status
  local ready = condition(status, "Ready")
  local generation = obj.metadata.generation or 1
  -- Until Slipway has reconciled this generation, the conditions describe an older spec.
  if ready == nil or (status.observedGeneration or 0) < generation then
    return health("Progressing", "waiting for the operator to reconcile generation " .. generation)
  end
  if ready.status == "False" and not WAITING[ready.reason] then
    return health("Degraded", why(status, ready))
  end
  -- driftPolicy Report leaves drift in place and says so: a reported drift is a defect.
  local drifted = condition(status, "Drifted")
  if drifted ~= nil and drifted.status == "True" then
    return health("Degraded", explain(drifted))
  end
  if ready.status ~= "True" then
    return health("Progressing", explain(ready))
  end
  return nil
end

-- common: end

-- workload: begin (the same in the Service and PreviewDeployment scripts)

-- A Ready workload: AWS matches the spec; the ECS deployment says whether the tasks serve it yet. Slipway
-- refreshes these fields on every pass (the Environment's resyncInterval), so they trail ECS by up to that.
local function rollout(fields, url)
  local parts = {}
  if fields.runningCount ~= nil and fields.desiredCount ~= nil then
    table.insert(parts, fields.runningCount .. " of " .. fields.desiredCount .. " tasks running")
  end
  if fields.revision ~= nil then
    table.insert(parts, "task definition revision " .. fields.revision)
  end
  if url ~= nil then
    table.insert(parts, url)
  end
  local summary = table.concat(parts, ", ")
  if fields.rolloutState == "FAILED" then
    return health("Degraded", "the latest ECS deployment failed (see the ECS service's events): " .. summary)
  end
  if fields.rolloutState == "IN_PROGRESS" then
    return health("Progressing", "ECS is rolling out: " .. summary)
  end
  if fields.runningCount ~= nil and fields.desiredCount ~= nil and fields.runningCount < fields.desiredCount then
    return health("Progressing", "waiting for tasks: " .. summary)
  end
  return health("Healthy", summary)
end

-- workload: end

local hs = deleting(obj) or assess(obj)
if hs == nil then
  hs = rollout(obj.status, obj.status.url)
end
return hs
