/** The login form: the operator token, once per browser and 12 hours (middleware/session.ts). */
import { h, page, type Html } from './layout.js';

export function loginPage(opts: { next: string; error?: string; off?: boolean }): Html {
  const body = opts.off
    ? h`<div class="login"><h1>nblc</h1><p class="error">The dashboard is off: set NBLC_API_TOKEN (or NBLC_API_TOKEN_FILE).</p></div>`
    : h`<form class="login" method="post" action="/login">
<h1>nblc dashboard</h1>
${opts.error ? h`<p class="error" role="alert">${opts.error}</p>` : null}
<label for="token">Operator token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus />
<input type="hidden" name="next" value="${opts.next}" />
<button type="submit">Log in</button>
<p class="muted">The value of <code>NBLC_API_TOKEN</code>. The session lasts 12 hours, or until you log out or the token changes.</p>
</form>`;
  return page('Log in', null, body);
}
