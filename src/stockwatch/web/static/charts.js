// The chart library (plotly.js, 4.8 MB), loaded by the first page that draws a chart: the
// overview has none, so it shows its figures without waiting for it.
let loading = null;

export function plotly() {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  if (!loading) {
    loading = new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = "/vendor/plotly.min.js";
      script.onload = () => resolve(window.Plotly);
      script.onerror = () => { loading = null; reject(new Error("the chart library did not load")); };
      document.head.append(script);
    });
  }
  return loading;
}
