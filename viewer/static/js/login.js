// The login page: posts the password as JSON (the page's CSP allows no form posts), then opens the map.
const form = document.getElementById('login');
const message = document.getElementById('login-message');

form.addEventListener('submit', async (e) => {
  e.preventDefault();
  message.textContent = 'Checking…';
  let response;
  try {
    response = await fetch('/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ password: form.elements.password.value }),
    });
  } catch (err) {
    message.textContent = 'Could not reach geolocator.';
    return;
  }
  if (response.ok) {
    window.location.assign('/');
    return;
  }
  const problem = await response.json().catch(() => ({}));
  message.textContent = response.status === 403 ? 'Wrong password.' : 'Not logged in: ' + (problem.error || response.statusText);
  form.elements.password.select();
});
