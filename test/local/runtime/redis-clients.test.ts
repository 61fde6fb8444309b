import { evalUpsert, getScore } from '../../../lambdas/domain/score-store/redis';
import { ensureConnected } from '../../../lambdas/platform/redis';
import { standInClass } from '../../../local/runtime/redis-clients';

// ioredis-mock runs the score store's real Lua upsert through the stand-in's call/SCRIPT LOAD/EVALSHA shim.
describe('in-process Redis stand-in', () => {
  const StandIn = standInClass();
  const make = (db: number) => new StandIn(`redis://standin.test:6379/${db}`, { lazyConnect: true }) as never;

  it('connects the way ensureConnected expects', async () => {
    const r = make(1) as { status: string };
    expect(r.status).toBe('wait');
    await ensureConnected(r as never);
    expect(r.status).toBe('ready');
  });

  it('runs the conditional upsert: newer (asOf, runId) wins, older is kept out', async () => {
    const r = make(2);
    await ensureConnected(r);
    const args = (asOf: string, run: string, ...scores: string[]) => ['0', asOf, run, '1', ...scores];
    expect(await evalUpsert(r, ['score:a', 'score:b'], args('2026-11-02', 'run-1', '0.5', '0.6'))).toEqual({
      applied: 2,
      keptNewer: 0,
    });
    expect(await evalUpsert(r, ['score:a'], args('2026-11-01', 'run-2', '0.9'))).toEqual({ applied: 0, keptNewer: 1 });
    expect(await evalUpsert(r, ['score:b'], args('2026-11-03', 'run-3', '0.7'))).toEqual({ applied: 1, keptNewer: 0 });
    expect(await getScore(r, 'a')).toMatchObject({ asOf: '2026-11-02', runId: 'run-1', score: 0.5 });
    expect(await getScore(r, 'b')).toMatchObject({ asOf: '2026-11-03', runId: 'run-3', score: 0.7 });
  });

  it('shares data between clients of the same URL, like one server', async () => {
    const a = make(3) as { set(k: string, v: string): Promise<unknown> };
    const b = make(3) as { get(k: string): Promise<string | null> };
    await a.set('k', 'v');
    expect(await b.get('k')).toBe('v');
  });

  it('answers EVALSHA of an unknown script with NOSCRIPT (the store then loads it)', async () => {
    const r = make(4) as { call(c: string, a: unknown[]): Promise<unknown> };
    await expect(r.call('EVALSHA', ['0'.repeat(40), 0])).rejects.toThrow(/^NOSCRIPT/);
    await expect(r.call('NOSUCHCOMMAND', [])).rejects.toThrow(/unknown command 'NOSUCHCOMMAND'/);
  });
});
