//! The row directory's geometries, and the exact test of a spatial search
//! against them.
//!
//! A geometry that is exactly its bbox (an axis-aligned rectangle: tiles of
//! a grid, mosaics, most products in geographic coordinates) is not kept:
//! one byte says how its ring runs, and its WKB is rebuilt, byte for byte,
//! when asked for. The others are kept as WKB in [`Blobs`] (a mapped
//! temporary file). A rectangle's answer to a search box is its bbox's,
//! and other geometries are tested against a box on their WKB, without
//! decoding ([`meets_rectangle`]); only an `intersects` geometry against a
//! row that is not a rectangle decodes the row.

use crate::Result;
use crate::blobs::Blobs;
use geo::{Geometry, Intersects};
use stac_indexed_filter::spatial::{decode_wkb, meets_rectangle};
use stac_indexed_format::geometry::Bbox;
use std::borrow::Cow;

/// A rectangle's WKB: little-endian, Polygon, one ring of five points.
const RECTANGLE_WKB_LENGTH: usize = 1 + 4 + 4 + 4 + 5 * 16;

/// The geometries, by seq.
pub(crate) struct Geometries {
    /// WKB of the geometries that are not rectangles (empty for those that are).
    blobs: Blobs,
    /// Per seq: 0 when its WKB is in `blobs`, else 1 + its ring's [`Ring`] code.
    shapes: Vec<u8>,
}

/// The geometry a search must meet.
pub(crate) enum SpatialQuery {
    /// A `bbox` (west > east crosses the antimeridian).
    Rectangle(Bbox),
    /// An `intersects` geometry, decoded, and its WKB.
    Geometry(Geometry<f64>, Vec<u8>),
}

impl Geometries {
    pub(crate) fn new() -> Geometries {
        Geometries {
            blobs: Blobs::new(),
            shapes: Vec::new(),
        }
    }

    /// Appends the next row's geometry, given its bbox.
    pub(crate) fn push(&mut self, wkb: &[u8], bbox: Bbox) -> Result<()> {
        match Ring::of(wkb, bbox) {
            Some(ring) => {
                self.shapes.push(1 + ring.code());
                self.blobs.push(&[])
            }
            None => {
                self.shapes.push(0);
                self.blobs.push(wkb)
            }
        }
    }

    /// Ends the reading (see [`Blobs::finish`]).
    pub(crate) fn finish(&mut self) -> Result<()> {
        self.shapes.shrink_to_fit();
        self.blobs.finish()
    }

    /// Row `seq`'s WKB, given its bbox.
    pub(crate) fn wkb(&self, seq: u32, bbox: Bbox) -> Cow<'_, [u8]> {
        match Ring::of_shape(self.shapes[seq as usize]) {
            Some(ring) => Cow::Owned(ring.wkb(bbox).to_vec()),
            None => Cow::Borrowed(self.blobs.get(seq as usize)),
        }
    }

    /// Whether row `seq`'s geometry (whose bbox is `bbox`) meets `query`.
    pub(crate) fn meets(&self, seq: u32, bbox: Bbox, query: &SpatialQuery) -> bool {
        let rectangle = self.shapes[seq as usize] != 0;
        match query {
            SpatialQuery::Rectangle(query) if rectangle => meets_rectangle(&Ring::Ccw(0).wkb(bbox), *query),
            SpatialQuery::Rectangle(query) => meets_rectangle(self.blobs.get(seq as usize), *query),
            SpatialQuery::Geometry(_, wkb) if rectangle => meets_rectangle(wkb, bbox),
            SpatialQuery::Geometry(query, _) => {
                return decode_wkb(self.blobs.get(seq as usize)).is_some_and(|geometry| query.intersects(&geometry));
            }
        }
        .unwrap_or(false)
    }

    /// The heap bytes they take (the mapped WKB is the page cache's).
    pub(crate) fn heap_bytes(&self) -> usize {
        self.blobs.heap_bytes() + self.shapes.capacity()
    }

    /// How many rows are rectangles.
    pub(crate) fn rectangles(&self) -> usize {
        self.shapes.iter().filter(|shape| **shape != 0).count()
    }
}

/// How a rectangle's ring runs over its corners (south-west, south-east,
/// north-east, north-west: 0 to 3): from which corner, and which way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ring {
    /// Counter-clockwise from this corner.
    Ccw(u8),
    /// Clockwise from this corner.
    Cw(u8),
}

impl Ring {
    /// The ring of `wkb` when it is exactly the rectangle `bbox` (its WKB
    /// rebuilt from the ring equals `wkb`, byte for byte).
    fn of(wkb: &[u8], bbox: Bbox) -> Option<Ring> {
        let [west, south, east, north] = bbox;
        if wkb.len() != RECTANGLE_WKB_LENGTH || !(west < east && south < north) {
            return None;
        }
        let point = |at: usize| {
            let value = |at: usize| f64::from_le_bytes(wkb[at..at + 8].try_into().unwrap_or_default());
            [value(at), value(at + 8)]
        };
        let corners = corners(bbox);
        let start = corners.iter().position(|corner| *corner == point(13))? as u8;
        let second = point(29);
        let ring = [Ring::Ccw(start), Ring::Cw(start)]
            .into_iter()
            .find(|ring| ring.corner(1, &corners) == second)?;
        (ring.wkb(bbox)[..] == *wkb).then_some(ring)
    }

    fn code(self) -> u8 {
        match self {
            Ring::Ccw(start) => start,
            Ring::Cw(start) => 4 + start,
        }
    }

    fn of_shape(shape: u8) -> Option<Ring> {
        match shape {
            0 => None,
            1..=4 => Some(Ring::Ccw(shape - 1)),
            _ => Some(Ring::Cw(shape - 5)),
        }
    }

    /// The ring's `step`th point.
    fn corner(self, step: u8, corners: &[[f64; 2]; 4]) -> [f64; 2] {
        let index = match self {
            Ring::Ccw(start) => start + step,
            Ring::Cw(start) => start + 4 * 2 - step,
        };
        corners[usize::from(index % 4)]
    }

    fn wkb(self, bbox: Bbox) -> [u8; RECTANGLE_WKB_LENGTH] {
        let corners = corners(bbox);
        let mut wkb = [0u8; RECTANGLE_WKB_LENGTH];
        wkb[0] = 1;
        wkb[1..5].copy_from_slice(&3u32.to_le_bytes());
        wkb[5..9].copy_from_slice(&1u32.to_le_bytes());
        wkb[9..13].copy_from_slice(&5u32.to_le_bytes());
        for step in 0..5u8 {
            let [x, y] = self.corner(step, &corners);
            let at = 13 + usize::from(step) * 16;
            wkb[at..at + 8].copy_from_slice(&x.to_le_bytes());
            wkb[at + 8..at + 16].copy_from_slice(&y.to_le_bytes());
        }
        wkb
    }
}

fn corners([west, south, east, north]: Bbox) -> [[f64; 2]; 4] {
    [[west, south], [east, south], [east, north], [west, north]]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use stac_indexed_format::geometry::encode_geojson;

    fn polygon(ring: serde_json::Value) -> Vec<u8> {
        encode_geojson(&json!({"type": "Polygon", "coordinates": [ring]}))
            .unwrap()
            .wkb
    }

    #[test]
    fn rectangles_are_rebuilt_byte_for_byte_whichever_way_they_run() {
        let bbox = [10.5, -3.25, 11.0, -2.0];
        let rings = [
            json!([[10.5, -3.25], [11.0, -3.25], [11.0, -2.0], [10.5, -2.0], [10.5, -3.25]]),
            json!([[11.0, -2.0], [11.0, -3.25], [10.5, -3.25], [10.5, -2.0], [11.0, -2.0]]),
            json!([[10.5, -2.0], [10.5, -3.25], [11.0, -3.25], [11.0, -2.0], [10.5, -2.0]]),
        ];
        let mut geometries = Geometries::new();
        for ring in &rings {
            geometries.push(&polygon(ring.clone()), bbox).unwrap();
        }
        geometries.finish().unwrap();
        assert_eq!(geometries.rectangles(), 3);
        assert_eq!(geometries.heap_bytes(), 3 * 8 + 3);
        for (seq, ring) in rings.iter().enumerate() {
            assert_eq!(
                geometries.wkb(seq as u32, bbox).as_ref(),
                polygon(ring.clone()).as_slice()
            );
        }
    }

    #[test]
    fn other_geometries_are_kept() {
        let bbox = [0.0, 0.0, 1.0, 1.0];
        let kept = [
            // A triangle, a rectangle smaller than its bbox, the bbox's
            // corners in a bow tie, and a point.
            polygon(json!([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])),
            polygon(json!([[0.0, 0.0], [0.5, 0.0], [0.5, 1.0], [0.0, 1.0], [0.0, 0.0]])),
            polygon(json!([[0.0, 0.0], [1.0, 1.0], [1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])),
            encode_geojson(&json!({"type": "Point", "coordinates": [0.5, 0.5]}))
                .unwrap()
                .wkb,
        ];
        let mut geometries = Geometries::new();
        for wkb in &kept {
            geometries.push(wkb, bbox).unwrap();
        }
        geometries.finish().unwrap();
        assert_eq!(geometries.rectangles(), 0);
        for (seq, wkb) in kept.iter().enumerate() {
            assert_eq!(geometries.wkb(seq as u32, bbox).as_ref(), wkb.as_slice());
        }
    }

    #[test]
    fn a_search_meets_rectangles_and_others_as_geo_says() {
        let mut geometries = Geometries::new();
        let rectangle = [0.0, 0.0, 2.0, 2.0];
        geometries
            .push(
                &polygon(json!([[0.0, 0.0], [2.0, 0.0], [2.0, 2.0], [0.0, 2.0], [0.0, 0.0]])),
                rectangle,
            )
            .unwrap();
        geometries
            .push(
                &polygon(json!([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0], [0.0, 0.0]])),
                rectangle,
            )
            .unwrap();
        geometries.finish().unwrap();
        let corner = SpatialQuery::Rectangle([1.5, 1.5, 3.0, 3.0]);
        assert!(geometries.meets(0, rectangle, &corner));
        assert!(!geometries.meets(1, rectangle, &corner));
        let point = encode_geojson(&json!({"type": "Point", "coordinates": [1.8, 1.8]}))
            .unwrap()
            .wkb;
        let point = SpatialQuery::Geometry(decode_wkb(&point).unwrap(), point);
        assert!(geometries.meets(0, rectangle, &point));
        assert!(!geometries.meets(1, rectangle, &point));
        let across = SpatialQuery::Rectangle([179.0, 0.0, 1.0, 1.0]);
        assert!(geometries.meets(0, rectangle, &across));
        assert!(geometries.meets(1, rectangle, &across));
    }
}
