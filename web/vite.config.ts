import { defineConfig } from 'vite';

export default defineConfig({
  // Absolute asset paths: the proxy serves the same index.html at `/` and at
  // deep SPA routes such as /web/cluster/c/linux_desktops/u/login/xsession.
  base: '/',
  build: {
    target: 'es2022',
    outDir: 'dist',
    emptyOutDir: true,
  },
  worker: {
    format: 'es',
  },
  server: {
    // The schema lives outside the web root, in ../proto.
    fs: { allow: ['..'] },
  },
});
