/// The Lua scripts that make the queue's multi-key steps atomic on the server.
enum QueueScripts {
    /// Moves due delayed tasks to the ready list and records the consumer's heartbeat.
    /// KEYS: delayed, ready, consumers, heartbeat. ARGV: now (ms), consumer, ttl (ms), limit.
    static let prepareTake = """
        local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[4]))
        for _, task in ipairs(due) do
          if redis.call('ZREM', KEYS[1], task) == 1 then redis.call('LPUSH', KEYS[2], task) end
        end
        redis.call('SADD', KEYS[3], ARGV[2])
        redis.call('SET', KEYS[4], '1', 'PX', tonumber(ARGV[3]))
        return #due
        """

    /// Finishes a failed try: if the task is still this consumer's, schedules its retry or
    /// dead-letters it. KEYS: processing, delayed, dead. ARGV: raw task, mode
    /// (`retry`/`dead`), next payload or dead record, due (ms).
    static let fail = """
        if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 0 then return 0 end
        if ARGV[2] == 'retry' then
          redis.call('ZADD', KEYS[2], tonumber(ARGV[4]), ARGV[3])
        else
          redis.call('LPUSH', KEYS[3], ARGV[3])
        end
        return 1
        """

    /// Returns the tasks of every consumer whose heartbeat expired to the front of the ready list.
    /// KEYS: consumers, ready. ARGV: processing prefix, heartbeat prefix.
    static let reap = """
        local returned = 0
        for _, consumer in ipairs(redis.call('SMEMBERS', KEYS[1])) do
          if redis.call('EXISTS', ARGV[2] .. consumer) == 0 then
            local list = ARGV[1] .. consumer
            while redis.call('LMOVE', list, KEYS[2], 'LEFT', 'RIGHT') do returned = returned + 1 end
            redis.call('SREM', KEYS[1], consumer)
          end
        end
        return returned
        """

    /// Moves up to ARGV[1] ready tasks into a processing list without waiting.
    /// KEYS: ready, processing.
    static let takeBatch = """
        local taken = {}
        for i = 1, tonumber(ARGV[1]) do
          local task = redis.call('LMOVE', KEYS[1], KEYS[2], 'RIGHT', 'LEFT')
          if not task then break end
          taken[#taken + 1] = task
        end
        return taken
        """

    /// Removes every ARGV task from the processing list KEYS[1].
    static let ackBatch = """
        for i = 1, #ARGV do redis.call('LREM', KEYS[1], 1, ARGV[i]) end
        return #ARGV
        """

    /// Hands a task back untried: out of the processing list, onto the taking end of the
    /// ready list. KEYS: processing, ready. ARGV: raw task.
    static let release = """
        if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 0 then return 0 end
        redis.call('RPUSH', KEYS[2], ARGV[1])
        return 1
        """

    /// Moves one dead letter back: removes it and queues the fresh task, both or neither.
    /// KEYS: dead, ready. ARGV: dead record, task.
    static let requeue = """
        if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 0 then return 0 end
        redis.call('LPUSH', KEYS[2], ARGV[2])
        return 1
        """

    /// Remembers a finished task's id and removes it from the processing list.
    /// KEYS: done key, processing. ARGV: raw task, seconds to remember.
    static let complete = """
        redis.call('SET', KEYS[1], '1', 'EX', tonumber(ARGV[2]))
        return redis.call('LREM', KEYS[2], 1, ARGV[1])
        """
}
