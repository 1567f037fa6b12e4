// Light, dark, or the system's choice (the default), kept in this browser's storage.
const KEY = 'chronicle.theme';
type Theme = 'system' | 'light' | 'dark';
const NEXT: Readonly<Record<Theme, Theme>> = { system: 'light', light: 'dark', dark: 'system' };

export function initTheme(button: HTMLButtonElement): void {
  const stored = localStorage.getItem(KEY);
  let theme: Theme = stored === 'light' || stored === 'dark' ? stored : 'system';
  const apply = (): void => {
    if (theme === 'system') delete document.documentElement.dataset['theme'];
    else document.documentElement.dataset['theme'] = theme;
    button.textContent = `Theme: ${theme}`;
    button.setAttribute('aria-label', `Colour theme: ${theme} (click to change)`);
  };
  button.addEventListener('click', () => {
    theme = NEXT[theme];
    if (theme === 'system') localStorage.removeItem(KEY);
    else localStorage.setItem(KEY, theme);
    apply();
  });
  apply();
}
