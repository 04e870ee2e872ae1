/**
 * End to end: build the app with Vite, serve dist/ on 127.0.0.1 (random port),
 * drive Debian's /usr/bin/chromium through playwright-core with the SwiftShader
 * WebGPU flags (shared/spec/WEBGPU-ENV.md), train, and check the loss went down
 * on a WebGPU adapter whose architecture is "swiftshader".
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { dirname, extname, join, normalize, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { build } from "vite";
import { chromium, type Browser } from "playwright-core";

const appDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const chromiumPath = process.env.REFS_CHROMIUM ?? "/usr/bin/chromium";
const haveChromium = existsSync(chromiumPath);
const required = !!process.env.CI || process.env.REFS_REQUIRE_WEBGPU === "1";
const STEPS = 60; // ~0.2–0.3 s a step on SwiftShader; leaves margin under a loaded `npm test`

if (!haveChromium && !required)
  console.warn(`playground: SKIPPED — ${chromiumPath} not found (apt-get install -y --no-install-recommends chromium)`);

const MIME: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".wasm": "application/wasm",
  ".json": "application/json",
  ".svg": "image/svg+xml",
};

function serve(root: string): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    let file = normalize(join(root, path));
    if (!file.startsWith(root + sep) && file !== root) return void res.writeHead(403).end();
    if (existsSync(file) && statSync(file).isDirectory()) file = join(file, "index.html");
    if (!existsSync(file)) return void res.writeHead(404).end("not found");
    res.writeHead(200, { "content-type": MIME[extname(file)] ?? "application/octet-stream" }).end(readFileSync(file));
  });
  return new Promise((ok) =>
    server.listen(0, "127.0.0.1", () => {
      const addr = server.address();
      ok({ server, url: `http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}/` });
    }),
  );
}

describe.skipIf(!haveChromium && !required)("playground in headless Chromium (WebGPU on SwiftShader)", () => {
  let browser: Browser | undefined;
  let server: Server | undefined;
  let url = "";
  const outDir = join(appDir, "dist");

  beforeAll(async () => {
    if (!haveChromium) throw new Error(`${chromiumPath} not found; CI / REFS_REQUIRE_WEBGPU=1 require it (apt-get install -y --no-install-recommends chromium)`);
    await build({ root: appDir, configFile: join(appDir, "vite.config.ts"), logLevel: "warn", build: { outDir, emptyOutDir: true } });
    ({ server, url } = await serve(outDir));
    browser = await chromium.launch({
      executablePath: chromiumPath,
      headless: true,
      args: [
        "--headless=new",
        "--no-sandbox",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        // --user-data-dir: playwright-core gives launch() a fresh temporary profile itself
        "--enable-unsafe-webgpu",
        "--enable-features=Vulkan",
        "--use-vulkan=swiftshader",
        "--use-webgpu-adapter=swiftshader",
        "--disable-vulkan-surface",
        "--use-angle=vulkan",
      ],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((ok) => (server ? server.close(() => ok()) : ok()));
  });

  it("trains the Block on WebGPU (swiftshader) and the loss goes down", async () => {
    const page = await browser!.newPage({ viewport: { width: 1040, height: 600 } });
    const logs: string[] = [];
    page.on("console", (m) => logs.push(`[${m.type()}] ${m.text()}`));
    page.on("pageerror", (e) => logs.push(`[pageerror] ${e.message}`));
    const t0 = Date.now();
    await page.goto(`${url}?steps=${STEPS}`);
    try {
      await page.waitForFunction(() => document.body.dataset.done === "1" || document.body.dataset.error === "1", null, { timeout: 90_000, polling: 250 });
    } catch (e) {
      await page.screenshot({ path: join(appDir, "screenshot.png"), fullPage: true });
      throw new Error(`no result in 90 s: #status=${await page.textContent("#status")}\n${logs.join("\n")}`, { cause: e });
    }
    const seconds = (Date.now() - t0) / 1000;
    await page.screenshot({ path: join(appDir, "screenshot.png"), fullPage: true });

    const state = await page.evaluate(() => ({
      error: (window as unknown as { __error?: string }).__error,
      losses: (window as unknown as { __losses: number[] }).__losses,
      backend: document.getElementById("adapter")!.dataset.backend,
      architecture: document.getElementById("adapter")!.dataset.architecture,
      adapter: document.getElementById("adapter")!.textContent ?? "",
      status: document.getElementById("status")!.textContent ?? "",
    }));
    console.log(`playground: page load to done ${seconds.toFixed(1)} s\n${state.status}\n${state.adapter}`);

    expect(state.error, logs.join("\n")).toBeUndefined();
    expect(state.adapter).toMatch(/WebGPU/);
    expect(state.backend).toBe("webgpu");
    expect(state.architecture).toBe("swiftshader");
    expect(state.adapter).toMatch(/architecture: swiftshader/);
    expect(state.losses).toHaveLength(STEPS);
    expect(state.losses.every(Number.isFinite)).toBe(true);
    expect(state.losses.at(-1)!).toBeLessThan(state.losses[0]!);
    expect(state.status).toMatch(new RegExp(`done: ${STEPS} steps`));
  });
});
