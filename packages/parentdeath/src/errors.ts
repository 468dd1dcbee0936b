/** The parent-death variables are present but unusable. `variable` names the culprit. */
export class ParentDeathEnvError extends Error {
  override name = 'ParentDeathEnvError';
  readonly code = 'ERR_PARENTDEATH_BAD_ENV';
  readonly variable: string;
  constructor(variable: string, problem: string) {
    super(
      `${variable} ${problem}; it is set by the parent's beParent(). Unset PARENTDEATH_ADDR and PARENTDEATH_SESSION to run unmonitored, or fix the launcher that sets them`,
    );
    this.variable = variable;
  }
}
