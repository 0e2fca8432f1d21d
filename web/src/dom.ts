// Finding and showing parts of the page. Pages are copies of <template>s in index.html.

/** Replaces the app's content with a copy of `<template id=templateId>`; returns the copy's root element. */
export function mount(app: HTMLElement, templateId: string): HTMLElement {
  const template = find(document, `template#${templateId}`, HTMLTemplateElement);
  const copy = document.importNode(template.content, true);
  const root = copy.firstElementChild;
  if (!(root instanceof HTMLElement)) throw new Error(`template #${templateId} is empty`);
  app.replaceChildren(copy);
  return root;
}

/** The element at `selector`, of the given type; a missing one is a bug in index.html. */
export function find<T extends Element>(root: ParentNode, selector: string, type: abstract new () => T): T {
  const found = root.querySelector(selector);
  if (!(found instanceof type)) throw new Error(`the page has no ${type.name} at ${selector}`);
  return found;
}

/** Shows `message` in an error element, or hides the element for null. */
export function say(element: HTMLElement, message: string | null): void {
  element.textContent = message ?? '';
  element.hidden = message === null;
}

/** Disables a form's controls while a request runs. */
export function busy(form: HTMLFormElement, isBusy: boolean): void {
  form.setAttribute('aria-busy', String(isBusy));
  for (const control of form.querySelectorAll<HTMLButtonElement | HTMLInputElement>('button, input')) {
    control.disabled = isBusy;
  }
}
