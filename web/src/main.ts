// The web timeline's entry point.
const app = document.getElementById('app');
if (app) app.textContent = 'chronicle';
