/** Collects what a CLI command writes, for assertions. */
export function captureIo() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: {
      out: { write: (s: string) => void out.push(s), isTTY: false },
      err: { write: (s: string) => void err.push(s) },
    },
    stdout: () => out.join(''),
    stderr: () => err.join(''),
  };
}
