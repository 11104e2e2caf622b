/** Where CLI commands print; tests capture it, main.ts binds it to the process streams. */
export interface CliIo {
  /** A line to stdout. */
  out(text: string): void;
  /** Text to stdout as it comes (no newline added): streamed generation. */
  write(text: string): void;
  err(text: string): void;
  readonly isTTY: boolean;
}

export const processIo: CliIo = {
  out: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
  write: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
  isTTY: process.stdout.isTTY === true,
};

export function captureIo(): CliIo & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return {
    stdout,
    stderr,
    isTTY: false,
    out: (text) => stdout.push(text),
    write: (text) => stdout.push(text),
    err: (text) => stderr.push(text),
  };
}
