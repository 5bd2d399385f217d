/** The shape every `avscene <command>` module exports; main.ts dispatches to them. */
import type { ParseArgsConfig } from 'node:util';
import { EX_USAGE } from '../util/exit-codes.js';

export interface Command {
  name: string;
  /** Full `avscene <name> --help` text: usage line, arguments, options, examples. */
  help: string;
  options: NonNullable<ParseArgsConfig['options']>;
  /** Receives parsed options and positionals; resolves to the process exit code. */
  run(
    values: Record<string, string | boolean | Array<string | boolean> | undefined>,
    positionals: string[],
  ): Promise<number>;
}

/** An error whose message is meant for the user as is (no stack), with the exit code to use. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly exitCode = EX_USAGE,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}
