// The time part of a list page's filter form: a range select and, for
// "Between dates…", From/To inputs in local time ([data-custom-range] fields,
// shown only then). The audit log and the recordings list share it.
import { RANGES, type FilterProblem, type RangeName, type TimeFilter } from '../time-range';

export class TimeRangeFields {
  readonly #range: HTMLSelectElement;
  readonly #from: HTMLInputElement;
  readonly #to: HTMLInputElement;
  readonly #custom: HTMLElement[];

  constructor(form: HTMLFormElement, range: HTMLSelectElement, from: HTMLInputElement, to: HTMLInputElement) {
    this.#range = range;
    this.#from = from;
    this.#to = to;
    this.#custom = [...form.querySelectorAll<HTMLElement>('[data-custom-range]')];
    range.replaceChildren(...RANGES.map(({ name, label }) => new Option(label, name)));
  }

  fill(filter: TimeFilter): void {
    this.#range.value = filter.range;
    this.#from.value = filter.from;
    this.#to.value = filter.to;
    this.#showCustom();
  }

  read(): TimeFilter {
    return { range: this.#range.value as RangeName, from: this.#from.value, to: this.#to.value };
  }

  /** A date input the browser holds half-typed reads as '', which would silently mean "no bound". */
  halfTyped(): FilterProblem | null {
    if (this.#range.value !== 'custom') return null;
    if (this.#from.validity.badInput) return { field: 'from', message: 'From is not a complete date and time.' };
    if (this.#to.validity.badInput) return { field: 'to', message: 'To is not a complete date and time.' };
    return null;
  }

  /** Marks the input at fault and puts the focus there; null clears the marks. */
  blame(problem: FilterProblem | null): void {
    this.#from.removeAttribute('aria-invalid');
    this.#to.removeAttribute('aria-invalid');
    if (problem === null) return;
    const input = problem.field === 'from' ? this.#from : this.#to;
    input.setAttribute('aria-invalid', 'true');
    input.focus();
  }

  /** A preset searches at once; for dates, which are typed first, the search waits for the form's submit. */
  onChange(search: () => void): void {
    this.#range.addEventListener('change', () => {
      this.#showCustom();
      if (this.#range.value === 'custom') this.#from.focus();
      else search();
    });
  }

  #showCustom(): void {
    for (const field of this.#custom) field.hidden = this.#range.value !== 'custom';
  }
}
