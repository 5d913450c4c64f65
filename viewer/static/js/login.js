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
  // 429: too many wrong passwords from here (or one still being checked); 503: busy with others' logins.
  const wait = response.headers.get('Retry-After');
  if (response.status === 403) message.textContent = 'Wrong password.';
  else if (wait && (response.status === 429 || response.status === 503)) message.textContent = `${problem.error || 'Too many attempts'} (Retry after ${wait} s.)`;
  else message.textContent = 'Not logged in: ' + (problem.error || response.statusText);
  form.elements.password.select();
});
