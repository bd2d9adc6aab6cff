// Preselects the browser's time zone on forms that ask for one.
const field = document.querySelector('select[name="time_zone"]');
if (field && field.value === "UTC") {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (zone && [...field.options].some((o) => o.value === zone)) field.value = zone;
}
