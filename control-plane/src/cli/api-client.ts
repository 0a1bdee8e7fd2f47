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
    const res = await this.send(method, path, body, headers);
    const text = await res.text();
    if (!res.ok) throw errorOf(res, text);
    return (res.headers.get('content-type') ?? '').includes('json') ? (JSON.parse(text) as T) : (text as T);
  }

  /** A GET whose body is bytes (an adapter archive), with the response headers. */
  async download(path: string): Promise<{ data: Buffer; headers: Headers }> {
    const res = await this.send('GET', path);
    if (!res.ok) throw errorOf(res, await res.text());
    return { data: Buffer.from(await res.arrayBuffer()), headers: res.headers };
  }

  private async send(
    method: string,
    path: string,
    body?: { text: string; contentType: string },
    headers?: Record<string, string>,
  ): Promise<Response> {
    try {
      return await fetch(`${this.baseUrl}${path}`, {
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
  }
}

/** The server's error document as a ControlPlaneError with the server's code (CP_ERR_API_REQUEST when unknown). */
function errorOf(res: Response, text: string): ControlPlaneError {
  let parsed: { error?: { code?: string; message?: string; issues?: { path: string; message: string }[] } } = {};
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: keep the raw text below
  }
  const code = (
    parsed.error?.code && parsed.error.code in ERROR_CODES ? parsed.error.code : 'CP_ERR_API_REQUEST'
  ) as ErrorCode;
  return new ControlPlaneError(code, parsed.error?.message ?? `${res.status} ${text.slice(0, 200)}`, {
    issues: parsed.error?.issues,
  });
}
