// The ES module entry point's types: the same as the CommonJS ones, with `Titan` as the default.
import { Titan } from './index.js';

export * from './index.js';
export default Titan;
