/** The CLI's client of the REST API; turns HTTP errors back into ControlPlaneErrors with the server's code. */
import { ControlPlaneError, ERROR_CODES, type ErrorCode } from '../errors.js';

export class ApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly token: string | undefined,
  ) {}

  async request<T>(
    method: string,
    path: string,
    body?: { text: string; contentType: string },
    headers?: Record<string, string>,
  ): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: {
          ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
          ...(body ? { 'content-type': body.contentType } : {}),
          ...headers,
        },
        body: body?.text,
      });
    } catch (err) {
      throw new ControlPlaneError(
        'CP_ERR_API_UNREACHABLE',
        `no control plane answers at ${this.baseUrl}: start one with 'bslora up'`,
        { cause: err },
      );
    }
    const text = await res.text();
    if (!res.ok) {
      let parsed: { error?: { code?: string; message?: string; issues?: { path: string; message: string }[] } } = {};
      try {
        parsed = JSON.parse(text);
      } catch {
        // not JSON: keep the raw text below
      }
      const code = (
        parsed.error?.code && parsed.error.code in ERROR_CODES ? parsed.error.code : 'CP_ERR_API_REQUEST'
      ) as ErrorCode;
      throw new ControlPlaneError(code, parsed.error?.message ?? `${res.status} ${text.slice(0, 200)}`, {
        issues: parsed.error?.issues,
      });
    }
    return (res.headers.get('content-type') ?? '').includes('json') ? (JSON.parse(text) as T) : (text as T);
  }
}
