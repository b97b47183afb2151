// Pages of a listing that must be whole or fail. An SDK paginator follows whatever token the service returns; a
// service that hands back a token it already gave would be listed forever (the emulator does so for Application Auto
// Scaling past 100 items), and one that stopped short would read as resources missing. So a repeated token fails the
// listing, which its callers then do without.

export class ListingDidNotAdvance extends Error {
  override readonly name = 'ListingDidNotAdvance';
}

/** The pages of `pages`, failing with ListingDidNotAdvance when a page's next token repeats an earlier one. */
export async function* advancingPages<P>(
  pages: AsyncIterable<P>,
  tokenOf: (page: P) => string | undefined,
  what: string,
): AsyncGenerator<P> {
  const seen = new Set<string>();
  for await (const page of pages) {
    const token = tokenOf(page);
    if (token) {
      if (seen.has(token)) throw new ListingDidNotAdvance(`${what}: the service returned the token ${token} twice`);
      seen.add(token);
    }
    yield page;
  }
}

/**
 * The pages of a listing sent call by call, following `NextToken` until a page has none: for a listing that rarely
 * has a second page, without an SDK paginator (which checks its client's class, so a stand-in client cannot answer).
 */
export async function* tokenPages<P extends { readonly NextToken?: string | undefined }>(
  send: (token: string | undefined) => Promise<P>,
): AsyncGenerator<P> {
  let token: string | undefined;
  do {
    const page = await send(token);
    yield page;
    token = page.NextToken;
  } while (token);
}
