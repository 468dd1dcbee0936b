/** The parent-death variables are present but unusable. `variable` names the culprit. */
export class ParentDeathEnvError extends Error {
  readonly code = 'ERR_PARENTDEATH_BAD_ENV';
  readonly variable: string;
  constructor(variable: string, problem: string) {
    super(
      `${variable} ${problem}; it is set by the parent's beParent(). Unset PARENTDEATH_ADDR and PARENTDEATH_SESSION to run unmonitored, or fix the launcher that sets them`,
    );
    this.variable = variable;
  }
}
// Standalone rather than built on @x/sys's XError: this package has no dependencies by design.
// Names on the prototype, as Node's own errors: they stay out of util.inspect's own properties.
Object.defineProperty(ParentDeathEnvError.prototype, 'name', { value: 'ParentDeathEnvError', configurable: true, writable: true });

/** An option of beParent() or monitor() is out of its range. A RangeError, as Node's ERR_OUT_OF_RANGE. */
export class ParentDeathOptionError extends RangeError {
  readonly code = 'ERR_PARENTDEATH_BAD_OPTION';
  /** The option's name. */
  readonly option: string;
  constructor(option: string, problem: string) {
    super(`${option} ${problem}`);
    this.option = option;
  }
}
Object.defineProperty(ParentDeathOptionError.prototype, 'name', { value: 'ParentDeathOptionError', configurable: true, writable: true });
