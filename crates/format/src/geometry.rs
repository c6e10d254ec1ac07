//! GeoJSON geometries to 2D ISO WKB (little endian), with validation and bounds.
//!
//! Z and M values are dropped: the index only needs the footprint, and the
//! full geometry is always served from the item itself.

use crate::{Error, Result};
use serde_json::Value;

/// A bounding box: west, south, east, north.
pub type Bbox = [f64; 4];

const POINT: u32 = 1;
const LINE_STRING: u32 = 2;
const POLYGON: u32 = 3;
const MULTI_POINT: u32 = 4;
const MULTI_LINE_STRING: u32 = 5;
const MULTI_POLYGON: u32 = 6;
const GEOMETRY_COLLECTION: u32 = 7;

/// How deeply GeometryCollections may nest before the input is refused.
const MAX_DEPTH: usize = 16;

/// A validated geometry: its WKB and its bounds.
#[derive(Clone, Debug, PartialEq)]
pub struct Encoded {
    /// 2D ISO WKB, little endian.
    pub wkb: Vec<u8>,
    /// The bounds of every coordinate.
    pub bbox: Bbox,
}

/// Validates a GeoJSON geometry object and encodes it as WKB.
pub fn encode_geojson(geometry: &Value) -> Result<Encoded> {
    let mut encoder = Encoder {
        wkb: Vec::with_capacity(128),
        bbox: [f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY],
    };
    encoder.geometry(geometry, 0)?;
    if encoder.bbox[0] > encoder.bbox[2] {
        return Err(invalid("the geometry has no coordinates"));
    }
    Ok(Encoded {
        wkb: encoder.wkb,
        bbox: encoder.bbox,
    })
}

struct Encoder {
    wkb: Vec<u8>,
    bbox: Bbox,
}

impl Encoder {
    fn geometry(&mut self, geometry: &Value, depth: usize) -> Result<()> {
        let object = geometry
            .as_object()
            .ok_or_else(|| invalid("a geometry must be a JSON object"))?;
        let kind = object
            .get("type")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid("a geometry needs a \"type\""))?;
        if kind == "GeometryCollection" {
            if depth >= MAX_DEPTH {
                return Err(invalid("GeometryCollections nest too deeply"));
            }
            let members = object
                .get("geometries")
                .and_then(Value::as_array)
                .ok_or_else(|| invalid("a GeometryCollection needs a \"geometries\" array"))?;
            self.header(GEOMETRY_COLLECTION);
            self.count(members.len());
            return members.iter().try_for_each(|member| self.geometry(member, depth + 1));
        }
        let coordinates = object
            .get("coordinates")
            .ok_or_else(|| invalid(&format!("a {kind} needs \"coordinates\"")))?;
        match kind {
            "Point" => {
                self.header(POINT);
                self.position(coordinates)
            }
            "LineString" => {
                self.header(LINE_STRING);
                self.line(coordinates)
            }
            "Polygon" => {
                self.header(POLYGON);
                self.polygon(coordinates)
            }
            "MultiPoint" => self.multi(coordinates, POINT, MULTI_POINT, Self::position),
            "MultiLineString" => self.multi(coordinates, LINE_STRING, MULTI_LINE_STRING, Self::line),
            "MultiPolygon" => self.multi(coordinates, POLYGON, MULTI_POLYGON, Self::polygon),
            other => Err(invalid(&format!("unknown geometry type {other:?}"))),
        }
    }

    /// Writes a byte order mark (little endian) and a geometry type.
    fn header(&mut self, kind: u32) {
        self.wkb.push(1);
        self.wkb.extend_from_slice(&kind.to_le_bytes());
    }

    /// Writes a count of members, rings or positions.
    fn count(&mut self, count: usize) {
        self.wkb.extend_from_slice(&(count as u32).to_le_bytes());
    }

    fn multi(
        &mut self,
        coordinates: &Value,
        member: u32,
        kind: u32,
        write: fn(&mut Self, &Value) -> Result<()>,
    ) -> Result<()> {
        let members = array(coordinates)?;
        self.header(kind);
        self.count(members.len());
        for value in members {
            self.header(member);
            write(self, value)?;
        }
        Ok(())
    }

    fn position(&mut self, value: &Value) -> Result<()> {
        let numbers = array(value)?;
        if numbers.len() < 2 {
            return Err(invalid("a position needs at least two numbers"));
        }
        let x = number(&numbers[0])?;
        let y = number(&numbers[1])?;
        for extra in &numbers[2..] {
            number(extra)?;
        }
        self.wkb.extend_from_slice(&x.to_le_bytes());
        self.wkb.extend_from_slice(&y.to_le_bytes());
        self.bbox = [
            self.bbox[0].min(x),
            self.bbox[1].min(y),
            self.bbox[2].max(x),
            self.bbox[3].max(y),
        ];
        Ok(())
    }

    fn positions(&mut self, value: &Value, minimum: usize, what: &str) -> Result<usize> {
        let positions = array(value)?;
        if positions.len() < minimum {
            return Err(invalid(&format!("a {what} needs at least {minimum} positions")));
        }
        self.count(positions.len());
        positions.iter().try_for_each(|p| self.position(p))?;
        Ok(positions.len())
    }

    fn line(&mut self, value: &Value) -> Result<()> {
        self.positions(value, 2, "LineString").map(|_| ())
    }

    fn polygon(&mut self, value: &Value) -> Result<()> {
        let rings = array(value)?;
        if rings.is_empty() {
            return Err(invalid("a Polygon needs at least one ring"));
        }
        self.count(rings.len());
        for ring in rings {
            self.positions(ring, 4, "linear ring")?;
            let positions = array(ring)?;
            let xy = |p: Option<&Value>| p.and_then(Value::as_array).map(|c| (c[0].as_f64(), c[1].as_f64()));
            if xy(positions.first()) != xy(positions.last()) {
                return Err(invalid("a linear ring must end where it starts"));
            }
        }
        Ok(())
    }
}

fn array(value: &Value) -> Result<&Vec<Value>> {
    value.as_array().ok_or_else(|| invalid("coordinates must be arrays"))
}

fn number(value: &Value) -> Result<f64> {
    value
        .as_f64()
        .filter(|n| n.is_finite())
        .ok_or_else(|| invalid("a coordinate must be a finite number"))
}

fn invalid(message: &str) -> Error {
    Error::Geometry(message.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_point_encodes_as_iso_wkb() {
        let encoded = encode_geojson(&json!({"type": "Point", "coordinates": [1.5, -2.0, 100.0]})).unwrap();
        let mut expected = vec![1u8];
        expected.extend_from_slice(&1u32.to_le_bytes());
        expected.extend_from_slice(&1.5f64.to_le_bytes());
        expected.extend_from_slice(&(-2.0f64).to_le_bytes());
        assert_eq!(encoded.wkb, expected);
        assert_eq!(encoded.bbox, [1.5, -2.0, 1.5, -2.0]);
    }

    #[test]
    fn polygons_and_multipolygons_have_bounds() {
        let polygon = json!({"type": "Polygon", "coordinates": [[[0, 0], [2, 0], [2, 3], [0, 3], [0, 0]]]});
        let encoded = encode_geojson(&polygon).unwrap();
        assert_eq!(encoded.bbox, [0.0, 0.0, 2.0, 3.0]);
        assert_eq!(encoded.wkb.len(), 1 + 4 + 4 + 4 + 5 * 16);
        let multi = json!({"type": "MultiPolygon", "coordinates": [
            [[[0, 0], [1, 0], [1, 1], [0, 0]]],
            [[[5, 5], [6, 5], [6, 7], [5, 5]]]
        ]});
        assert_eq!(encode_geojson(&multi).unwrap().bbox, [0.0, 0.0, 6.0, 7.0]);
    }

    #[test]
    fn ring_closure_compares_numbers_not_json() {
        let polygon = json!({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0.0, 0.0]]]});
        assert!(encode_geojson(&polygon).is_ok());
    }

    #[test]
    fn every_geometry_type_encodes() {
        for geometry in [
            json!({"type": "LineString", "coordinates": [[0, 0], [1, 1]]}),
            json!({"type": "MultiPoint", "coordinates": [[0, 0], [1, 1]]}),
            json!({"type": "MultiLineString", "coordinates": [[[0, 0], [1, 1]], [[2, 2], [3, 3]]]}),
            json!({"type": "GeometryCollection", "geometries": [
                {"type": "Point", "coordinates": [0, 0]},
                {"type": "LineString", "coordinates": [[0, 0], [1, 1]]}
            ]}),
        ] {
            encode_geojson(&geometry).unwrap();
        }
    }

    #[test]
    fn invalid_geometries_are_refused_with_a_reason() {
        for (geometry, reason) in [
            (json!(null), "JSON object"),
            (json!({"coordinates": [0, 0]}), "\"type\""),
            (
                json!({"type": "Circle", "coordinates": [0, 0]}),
                "unknown geometry type",
            ),
            (json!({"type": "Point"}), "coordinates"),
            (json!({"type": "Point", "coordinates": [0]}), "two numbers"),
            (json!({"type": "Point", "coordinates": ["a", 1]}), "finite number"),
            (json!({"type": "LineString", "coordinates": [[0, 0]]}), "2 positions"),
            (
                json!({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]}),
                "end where it starts",
            ),
            (json!({"type": "Polygon", "coordinates": []}), "one ring"),
            (
                json!({"type": "GeometryCollection", "geometries": []}),
                "no coordinates",
            ),
        ] {
            let error = encode_geojson(&geometry).unwrap_err().to_string();
            assert!(error.contains(reason), "{geometry}: {error}");
        }
    }
}
