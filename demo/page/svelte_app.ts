/// <reference lib="dom" />
/**
 * The `/svelte/` demo page: the same counter, todos and chat as `/vue/` and
 * `/react/`, written with `socksync/svelte` in Svelte 5 components
 * (demo/page/svelte/), compiled with the Svelte compiler at server start.
 *
 * @module
 */
import { mount } from "svelte";
// @ts-ignore: .svelte files are compiled by build.ts's esbuild plugin; no types here.
import App from "./svelte/App.svelte";

mount(App, { target: document.getElementById("app")! });
