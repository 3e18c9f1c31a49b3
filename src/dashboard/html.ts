import htm from 'htm';
import { h } from 'preact';

/** Tagged templates for Preact: components without a JSX build step. */
export const html = htm.bind(h);
