// Runs an Argo CD health script the way Argo CD does: a fresh Lua state per evaluation, the object as the global
// `obj` (JSON numbers, strings, booleans, arrays as 1-based tables, null as absent), and only the libraries Argo CD
// opens for custom scripts. Argo CD (gopher-lua) opens base, table, package and a reduced os; here only base and
// table are open, so a script that reached for string, math or os fails the test instead of failing in Argo CD.
// It also records which lines ran, so a test can prove every line of a script is exercised by the fixtures.
import { readFileSync } from 'node:fs';
import fengari, { type LuaState } from 'fengari';

const { lua, lauxlib, lualib, to_luastring } = fengari;

export const HEALTH_STATUSES = ['Healthy', 'Progressing', 'Degraded', 'Suspended', 'Missing', 'Unknown'] as const;
export type HealthStatus = (typeof HEALTH_STATUSES)[number];

export interface Health {
  readonly status: HealthStatus;
  readonly message: string;
}

/** What fengari keeps for a compiled function: the source line of each instruction, and nested functions. */
interface Proto {
  readonly lineinfo: readonly number[];
  readonly p: readonly Proto[];
}

function pushValue(L: LuaState, value: unknown): void {
  if (value === null || value === undefined) lua.lua_pushnil(L);
  else if (typeof value === 'boolean') lua.lua_pushboolean(L, value);
  // gopher-lua has one number type and prints integral values without a fraction; Lua 5.3 integers do the same.
  else if (typeof value === 'number') (Number.isInteger(value) ? lua.lua_pushinteger : lua.lua_pushnumber)(L, value);
  else if (typeof value === 'string') lua.lua_pushstring(L, to_luastring(value));
  else if (Array.isArray(value)) {
    lua.lua_createtable(L, value.length, 0);
    value.forEach((item, i) => {
      pushValue(L, item);
      lua.lua_rawseti(L, -2, i + 1);
    });
  } else if (typeof value === 'object') {
    const entries = Object.entries(value).filter(([, v]) => v !== null && v !== undefined);
    lua.lua_createtable(L, 0, entries.length);
    for (const [k, v] of entries) {
      pushValue(L, v);
      lua.lua_setfield(L, -2, to_luastring(k));
    }
  } else throw new Error(`cannot pass a ${typeof value} to Lua`);
}

/** The string fields of the table on top of the stack; any other field is reported by its type. */
function readTable(L: LuaState): Record<string, string> {
  const out: Record<string, string> = {};
  lua.lua_pushnil(L);
  while (lua.lua_next(L, -2) !== 0) {
    if (lua.lua_type(L, -2) !== lua.LUA_TSTRING) throw new Error('the script returned a table with a non-string key');
    const key = lua.lua_tojsstring(L, -2);
    out[key] =
      lua.lua_type(L, -1) === lua.LUA_TSTRING ? lua.lua_tojsstring(L, -1) : `<lua type ${lua.lua_type(L, -1)}>`;
    lua.lua_pop(L, 1);
  }
  return out;
}

export class HealthScript {
  readonly source: string;
  private readonly hit = new Set<number>();

  constructor(readonly path: string) {
    this.source = readFileSync(path, 'utf8');
  }

  run(obj: unknown): Health {
    const L = lauxlib.luaL_newstate();
    for (const [name, open] of [
      ['_G', lualib.luaopen_base],
      ['table', lualib.luaopen_table],
    ] as const) {
      lauxlib.luaL_requiref(L, to_luastring(name), open, 1);
      lua.lua_pop(L, 1);
    }
    if (
      lauxlib.luaL_loadbufferx(L, to_luastring(this.source), null, to_luastring(`=${this.path}`), to_luastring('t')) !==
      lua.LUA_OK
    ) {
      throw new Error(`${this.path} does not compile: ${lua.lua_tojsstring(L, -1)}`);
    }
    pushValue(L, obj);
    lua.lua_setglobal(L, to_luastring('obj'));
    const info = to_luastring('l');
    lua.lua_sethook(
      L,
      (state, ar) => {
        lua.lua_getinfo(state, info, ar);
        this.hit.add(ar.currentline);
      },
      lua.LUA_MASKLINE,
      0,
    );
    if (lua.lua_pcall(L, 0, 1, 0) !== lua.LUA_OK) throw new Error(`${this.path} failed: ${lua.lua_tojsstring(L, -1)}`);
    if (lua.lua_type(L, -1) !== lua.LUA_TTABLE)
      throw new Error(`${this.path} returned a Lua type ${lua.lua_type(L, -1)}, not a table`);
    const table = readTable(L);
    const extra = Object.keys(table).filter((k) => k !== 'status' && k !== 'message');
    if (extra.length > 0) throw new Error(`${this.path} returned fields Argo CD does not read: ${extra.join(', ')}`);
    const status = table.status as HealthStatus | undefined;
    // Argo CD turns any other status into Unknown ("Lua returned an invalid health status").
    if (!status || !HEALTH_STATUSES.includes(status)) throw new Error(`${this.path} returned status ${String(status)}`);
    return { status, message: table.message ?? '' };
  }

  /** Source lines that hold instructions, from the compiled chunk and every function inside it. */
  executableLines(): number[] {
    const L = lauxlib.luaL_newstate();
    if (
      lauxlib.luaL_loadbufferx(L, to_luastring(this.source), null, to_luastring(`=${this.path}`), to_luastring('t')) !==
      lua.LUA_OK
    ) {
      throw new Error(`${this.path} does not compile`);
    }
    // fengari keeps the loaded closure as a JavaScript object on its stack; its prototype carries the line table.
    const internals = L as unknown as {
      readonly stack: readonly { readonly value: { readonly p: Proto } }[];
      readonly top: number;
    };
    const lines = new Set<number>();
    const walk = (p: Proto): void => {
      p.lineinfo.forEach((line) => lines.add(line));
      p.p.forEach(walk);
    };
    walk(internals.stack[internals.top - 1]!.value.p);
    return [...lines].sort((a, b) => a - b);
  }

  /** Executable lines no run has reached yet. */
  missedLines(): number[] {
    return this.executableLines().filter((line) => !this.hit.has(line));
  }
}
