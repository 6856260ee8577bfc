// Live preview of the issue table's columns on the Templates page (the form works without it).
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("template-form");
  const preview = document.getElementById("preview");
  if (!form || !preview) return;
  const update = () => {
    const chosen = [...form.querySelectorAll('input[name="column"]:checked')].map((box) => box.value);
    const order = form.querySelector("#column-order").value.split(",").map((c) => c.trim()).filter((c) => chosen.includes(c));
    const custom = [...form.querySelectorAll('input[name="custom_field"]:checked')].map((box) => box.value);
    const group = form.querySelector('select[name="group_by"]').value;
    let columns = [...order, ...chosen.filter((c) => !order.includes(c)), ...custom];
    if (group !== "none") columns = [group, ...columns.filter((c) => c !== group)];
    preview.textContent = columns.join(", ") || "(no columns)";
  };
  form.addEventListener("input", update);
  update();
});
