// The part of fengari (a Lua 5.3 VM in JavaScript, shipped without types) that the health-script tests use.
declare module 'fengari' {
  export type LuaString = Uint8Array;
  export interface LuaState {
    readonly __luaState: never;
  }
  export interface LuaDebug {
    currentline: number;
  }
  export type LuaHook = (L: LuaState, ar: LuaDebug) => void;
  type LuaCFunction = (L: LuaState) => number;

  interface Lua {
    readonly LUA_OK: number;
    readonly LUA_MASKLINE: number;
    readonly LUA_TNIL: number;
    readonly LUA_TSTRING: number;
    readonly LUA_TTABLE: number;
    lua_pop(L: LuaState, n: number): void;
    lua_pushnil(L: LuaState): void;
    lua_pushboolean(L: LuaState, b: boolean): void;
    lua_pushinteger(L: LuaState, n: number): void;
    lua_pushnumber(L: LuaState, n: number): void;
    lua_pushstring(L: LuaState, s: LuaString): void;
    lua_createtable(L: LuaState, narr: number, nrec: number): void;
    lua_setfield(L: LuaState, index: number, key: LuaString): void;
    lua_rawseti(L: LuaState, index: number, n: number): void;
    lua_setglobal(L: LuaState, name: LuaString): void;
    lua_pcall(L: LuaState, nargs: number, nresults: number, msgh: number): number;
    lua_type(L: LuaState, index: number): number;
    lua_next(L: LuaState, index: number): number;
    lua_tojsstring(L: LuaState, index: number): string;
    lua_sethook(L: LuaState, hook: LuaHook, mask: number, count: number): void;
    lua_getinfo(L: LuaState, what: LuaString, ar: LuaDebug): number;
  }
  interface LuaAuxLib {
    luaL_newstate(): LuaState;
    luaL_requiref(L: LuaState, name: LuaString, open: LuaCFunction, global: number): void;
    luaL_loadbufferx(
      L: LuaState,
      buffer: LuaString,
      size: number | null,
      chunkname: LuaString,
      mode: LuaString | null,
    ): number;
  }
  interface LuaLib {
    luaopen_base: LuaCFunction;
    luaopen_table: LuaCFunction;
  }

  const fengari: {
    readonly lua: Lua;
    readonly lauxlib: LuaAuxLib;
    readonly lualib: LuaLib;
    to_luastring(s: string): LuaString;
  };
  export default fengari;
}
