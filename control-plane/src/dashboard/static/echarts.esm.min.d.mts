// Types for the ECharts ES-module build the dashboard serves at /assets/echarts.esm.min.mjs (for jsconfig.json only).
export * from 'echarts';
