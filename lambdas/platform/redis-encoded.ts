import Redis, { Cluster, Command } from 'ioredis';
import type { RedisClient } from './redis';

/**
 * A command whose RESP bytes the caller encoded itself: ioredis' own encoder concatenates one JavaScript string per
 * argument, which for a script call with thousands of arguments cost more client CPU per row than the server spends
 * running it (measured in bench/b6-store.ts). ioredis subclasses Command the same way for its scripts
 * (ioredis/built/Script.js); queueing, timeouts, retries, reply parsing and cluster routing stay ioredis'.
 */
class EncodedCommand extends Command {
  constructor(
    name: string,
    slotKey: string,
    private readonly encoded: Buffer,
  ) {
    // Only the routing needs the arguments: `numkeys` 1 and one key of the command's slot (every key of the script
    // call shares a hash tag).
    super(name, ['', '1', slotKey], { replyEncoding: 'utf8' });
  }

  override toWritable(_socket: object): Buffer {
    return this.encoded;
  }
}

/**
 * Send `encoded` (one complete RESP command, e.g. `EVALSHA sha numkeys key… arg…`) and resolve with the reply.
 * `slotKey` is one of its keys: a cluster client sends it to the node owning that key's slot.
 */
export function sendEncoded(redis: RedisClient, name: string, slotKey: string, encoded: Buffer): Promise<unknown> {
  if (redis.options.keyPrefix) throw new TypeError('pre-encoded commands do not support a client keyPrefix');
  const cmd = new EncodedCommand(name, slotKey, encoded);
  redis.sendCommand(cmd);
  return cmd.promise;
}

/** Whether `redis` is an ioredis client (Redis or Cluster), which {@link sendEncoded} needs. */
export const canSendEncoded = (redis: unknown): redis is RedisClient =>
  redis instanceof Redis || redis instanceof Cluster;
